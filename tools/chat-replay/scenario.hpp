// Scenario files: the steps of several scripted clients, parsed without I/O.
// The format is documented in docs/replay.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "corochat/client/millis.hpp"

namespace corochat::replay {

using client::Millis;

struct Step {
  enum class Kind {
    connect,       // NAME connect
    send,          // NAME send JSON            (the line as written, variables substituted)
    send_raw,      // NAME send-raw "BYTES"     (a JSON string literal, sent without a newline of its own)
    expect,        // NAME expect JSON [within D] [skip TYPES|*] [absent KEYS] [capture VAR=PATH...]
    silence,       // NAME silence D
    expect_close,  // NAME expect-close [within D] [skip TYPES|*]
    close,         // NAME close               (clean: FIN)
    abort,         // NAME abort               (abrupt: RST)
    wait,          // wait D
    pause,         // pause D                   (a recorded pause; honoured with --real-time)
    repeat,        // repeat N [VAR] ... end
  };
  Kind kind = Kind::wait;
  int line = 0;          // in the scenario file
  std::string source;    // the line as written, for reports
  std::string client;
  std::string payload;   // send / send_raw / expect
  Millis duration{0};    // silence / wait / pause
  std::optional<Millis> within;
  std::vector<std::string> skip;  // event types to pass over while waiting
  bool skip_all = false;
  std::vector<std::string> absent;  // keys the matching event must not have (e.g. id)
  std::vector<std::pair<std::string, std::string>> captures;  // variable, path into the event
  int count = 0;         // repeat
  std::string variable;  // repeat: the 1-based iteration number
  std::vector<Step> body;
};

struct Scenario {
  std::string file;
  Millis timeout{5000};  // for expect and expect-close without `within`
  std::vector<Step> steps;
};

struct ScenarioError {
  std::string file;
  int line = 0;
  std::string message;
  std::string describe() const { return file + ":" + std::to_string(line) + ": " + message; }
};

std::variant<Scenario, ScenarioError> parse_scenario(std::string_view text, std::string file);

// "250ms", "2s", "1m", or "0": the unit is required (cli/duration.hpp).
std::optional<Millis> parse_duration(std::string_view text);

}  // namespace corochat::replay
