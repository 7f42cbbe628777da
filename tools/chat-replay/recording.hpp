// What the recorder writes for each thing it sees: pure text transformations,
// kept apart from the proxy's I/O so they can be tested on their own.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace corochat::replay {

class Recording {
 public:
  // Each returns the scenario lines to append (possibly several, or none).
  std::string connected(const std::string& client);
  std::string sent(const std::string& client, std::string_view line);
  std::string received(const std::string& client, std::string_view line);
  std::string client_closed(const std::string& client);
  std::string server_closed(const std::string& client);
  // A `pause` line when the gap since the previous event is worth keeping.
  std::string pause_since_last(std::chrono::steady_clock::time_point now);

 private:
  std::map<std::string, std::string> tokens_;  // resume token -> variable capturing it
  std::chrono::steady_clock::time_point last_{};
};

// Fields whose values differ on every run: timestamps, the server's epoch and
// resume tokens, its version string.
bool is_volatile_field(std::string_view key);

// A quoted send-raw string for any bytes.
std::string quote_bytes(std::string_view bytes);

}  // namespace corochat::replay
