#include "results.hpp"

#include <cmath>
#include <cstdio>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace corochat::bench {
namespace {

std::string format(const Report::Value& value, bool quote_strings) {
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          return quote_strings ? "null" : "-";
        } else if constexpr (std::is_same_v<T, std::uint64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(v)) return quote_strings ? "null" : "-";
          // Three decimals: enough for seconds and microseconds, never exponents.
          char text[64];
          std::snprintf(text, sizeof text, "%.3f", v);
          return text;
        } else {
          return quote_strings ? boost::json::serialize(boost::json::string(v)) : v;
        }
      },
      value);
}

}  // namespace

std::string Report::json() const {
  std::string out = "{";
  for (const auto& [name, value] : fields_) {
    if (out.size() > 1) out += ',';
    out += boost::json::serialize(boost::json::string(name));
    out += ':';
    out += format(value, true);
  }
  out += ",\"warnings\":[";
  for (std::size_t i = 0; i < warnings_.size(); ++i) {
    if (i > 0) out += ',';
    out += boost::json::serialize(boost::json::string(warnings_[i]));
  }
  out += "]}\n";
  return out;
}

std::string Report::table(const std::string& title) const {
  std::size_t width = 0;
  for (const auto& field : fields_) width = std::max(width, field.first.size());
  std::string out = title + "\n";
  for (const auto& [name, value] : fields_) {
    out += "  " + name + std::string(width - name.size() + 2, ' ') + format(value, false) + "\n";
  }
  for (const auto& w : warnings_) out += "WARNING: " + w + "\n";
  return out;
}

}  // namespace corochat::bench
