// A run's results as ordered named fields, printed as a table for people or
// as one JSON object for scripts. Field names are the same in both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace corochat::bench {

class Report {
 public:
  // null: the figure could not be measured (no server PID, no sample).
  using Value = std::variant<std::nullptr_t, std::uint64_t, double, std::string>;

  void add(std::string name, std::uint64_t value) { fields_.emplace_back(std::move(name), value); }
  void add(std::string name, double value) { fields_.emplace_back(std::move(name), value); }
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  void add(std::string name, std::optional<double> value) {
    fields_.emplace_back(std::move(name), value ? Value(*value) : Value(nullptr));
  }
  void add(std::string name, std::optional<std::uint64_t> value) {
    fields_.emplace_back(std::move(name), value ? Value(*value) : Value(nullptr));
  }
  void warn(std::string text) { warnings_.push_back(std::move(text)); }

  const std::vector<std::pair<std::string, Value>>& fields() const { return fields_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // One JSON object on one line; warnings as a "warnings" array.
  std::string json() const;
  // "name  value" rows under a title, warnings last.
  std::string table(const std::string& title) const;

 private:
  std::vector<std::pair<std::string, Value>> fields_;
  std::vector<std::string> warnings_;
};

}  // namespace corochat::bench
