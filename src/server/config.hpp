// chatd's configuration: one struct whose default values are chatd's
// defaults. The command line and the --config file (options.cpp) write into
// it, state those
// defaults in --help by reading a default-constructed ServerConfig, and
// checks the ranges below.
//
// Each field says what it is, its unit, its range and who enforces it: the
// listener (server.cpp: accepting, admission, TLS handshakes), the session
// (each connection's coroutines: framing, flood limit, outgoing queue,
// timers) or the state machine (ChatState, configured by StateConfig in
// chat_state.hpp, whose fields are documented there).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "corochat/protocol/events.hpp"
#include "corochat/protocol/framer.hpp"
#include "server/admission.hpp"
#include "server/chat_state.hpp"
#include "server/log.hpp"
#include "server/metrics/metrics.hpp"
#include "server/store/sqlite_history_store.hpp"

namespace corochat::server {

using Duration = std::chrono::milliseconds;

// The largest number any setting takes: far beyond any real limit, small
// enough that welcome's signed 64-bit limits and the sizes derived from a
// setting (six bytes per escaped character) cannot overflow.
inline constexpr std::size_t max_setting = std::numeric_limits<std::int64_t>::max() / 8;
// The longest duration any setting takes, so that deadlines cannot overflow.
inline constexpr Duration max_duration = std::chrono::hours(24 * 7);

// The values a numeric setting allows, both ends included, in the setting's
// unit (milliseconds for durations); `why` is said when a value is refused.
struct Range {
  std::size_t min = 0;
  std::size_t max = max_setting;
  std::string_view why = {};
};

// The ranges of the settings that have one beyond "a number".
namespace ranges {
inline constexpr Range port{0, 65535};
inline constexpr Range max_line{64, 16 * 1024 * 1024, "a hello needs a few dozen"};
inline constexpr Range at_least_one{1};  // a limit of 0 would let nothing through
inline constexpr Range history{0, 1'000'000};
inline constexpr Range ipv6_prefix{1, 128};
inline constexpr Range threads{1, 1, "chatd runs its I/O on one thread"};
inline constexpr Range retain_days{0, 36500};
}  // namespace ranges

// What each connection's I/O coroutines enforce (the session).
struct ConnectionLimits {
  // Longest request line in bytes, its '\n' and a trailing '\r' not counted;
  // a longer one gets line_too_long and is skipped. ranges::max_line.
  std::size_t max_line = protocol::default_max_line;
  // Bytes of lines waiting to be written to one connection; a client whose
  // queue would pass it is disconnected (slow_consumer). At least
  // longest_line(state), checked at start-up. Requests are read only while
  // the queue is at most half full; history replies take at most
  // reply_byte_cap() of it.
  std::size_t queue_bytes = 1 << 20;
  // Requests a second per connection on average, and at once above that; past
  // them, rate_limited. A rate of 0: no flood limit. Whole numbers; the burst
  // ranges::at_least_one.
  double flood_rate = 10;
  double flood_burst = 20;
  // Silence before the server sends ping, then silence after it before the
  // connection is closed (timed_out).
  Duration idle{std::chrono::seconds(120)};
  Duration idle_grace{std::chrono::seconds(30)};
  // Time from connecting to a successful hello (registration_timeout).
  Duration registration{std::chrono::seconds(30)};
  // Time a closing connection has to flush its queue, at quit or shutdown.
  Duration close_grace{std::chrono::seconds(5)};

  bool operator==(const ConnectionLimits&) const = default;
};

// TLS on its own port (the listener); off unless a certificate and key are
// given. Both files are reread on SIGHUP.
struct TlsListenerConfig {
  std::string cert_file;  // PEM, the full chain
  std::string key_file;   // PEM
  // TCP port, beside the plain one; "0" picks a free one. ranges::port.
  std::string port = "7443";
  // Time a new connection has to finish its handshake; ranges::at_least_one ms.
  Duration handshake_timeout{std::chrono::seconds(10)};
  bool enabled() const { return !cert_file.empty(); }

  bool operator==(const TlsListenerConfig&) const = default;
};

// Where rooms' messages, seqs, the epoch and resume tokens are kept.
enum class StoreKind {
  sqlite,  // DATA_DIR/history.sqlite3: history, seqs and tokens survive a restart
  memory,  // nothing survives the process; no message waits for a disk
};

struct StoreConfig {
  StoreKind kind = StoreKind::sqlite;
  // The store's directory (created 0700 if missing). Relative paths are from
  // chatd's working directory: a checkout's data/ (ignored by git); a service
  // would use /var/lib/chatd.
  std::string data_dir = "data";
  store::Sync sync = store::Sync::normal;
  store::RetentionPolicy retention;  // retain_messages per room, retain_days
  // Caps the database at this many pages (0: no cap): how tests make the
  // disk full. Not in --help.
  std::uint64_t max_pages = 0;
  // Set: print this room's stored messages as JSON lines and exit.
  std::string export_room;
};

struct ServerConfig {
  // Address to listen on (the listener); "::" serves IPv6 and IPv4 where the
  // OS allows.
  std::string host = "::";
  // TCP port of plain connections; "0" picks a free one. ranges::port.
  std::string port = "7000";
  // Serve plain TCP on `port`; false: TLS only (needs tls).
  bool plain = true;
  TlsListenerConfig tls;
  ConnectionLimits connection;
  // The state machine's settings, documented in chat_state.hpp; its
  // max_clients is the listener's to enforce, and its max_reply_bytes and
  // limits are derived (derive_settings()). max_text, max_clients and
  // reply_burst: ranges::at_least_one; history: ranges::history.
  StateConfig state;
  // Who may connect (the listener), documented in admission.hpp; its
  // max_clients is taken from state.max_clients. connect_burst:
  // ranges::at_least_one; ipv6_prefix: ranges::ipv6_prefix.
  AdmissionConfig admission;
  // I/O threads: ranges::threads (see docs/architecture.md).
  int threads = 1;
  // Refused connections being told why at once (the listener); past it they
  // are just closed. Lowered with max_clients to fit the descriptor limit.
  std::size_t max_refusing = 256;
  log::Level log_level = log::Level::warn;
  StoreConfig store;
  // Where state.password was read from (its first line); empty: no password.
  // Read again on SIGHUP.
  std::string password_file;
  // Where /metrics and /healthz are served over HTTP; none: not served.
  std::optional<metrics::Endpoint> metrics;
};

// The longest line chatd may send that is not cut to fit the queue: a
// message of max_text bytes, or the welcome with the MOTD, every byte escaped.
// A smaller outgoing queue would make every client slow.
inline std::size_t longest_line(const StateConfig& state) {
  // JSON escapes a control character as \u0001: six bytes for one. The rest
  // of a line (type, room, nick, seq, ts, an id of up to 64 bytes, escaped
  // too, or the welcome's limits) stays under the allowance.
  constexpr std::size_t escaped = 6;
  constexpr std::size_t other_fields = 1024;
  return escaped * std::max(state.max_text, state.motd.size()) + other_fields;
}

// The cap on one history reply (StateConfig::max_reply_bytes) for an outgoing
// queue of `queue_bytes`. Requests run while the asker's queue is at most
// half full, and a history reply takes at most a quarter: a quarter is
// always left for room traffic, so asking for history never makes the asker
// a slow consumer.
inline std::size_t reply_byte_cap(std::size_t queue_bytes) { return std::max<std::size_t>(queue_bytes / 4, 1); }

// What welcome advertises for this configuration. The flood burst is 0 when
// there is no flood limit; idle is in whole seconds, rounded up.
inline protocol::AdvertisedLimits advertised_limits(const ServerConfig& config) {
  const ConnectionLimits& c = config.connection;
  return {
      .max_line = static_cast<std::int64_t>(c.max_line),
      .max_text = static_cast<std::int64_t>(config.state.max_text),
      .rate = static_cast<std::int64_t>(c.flood_rate),
      .burst = c.flood_rate > 0 ? static_cast<std::int64_t>(c.flood_burst) : 0,
      .history = static_cast<std::int64_t>(config.state.history),
      .idle = std::chrono::ceil<std::chrono::seconds>(c.idle).count(),
      .max_rooms_per_client = static_cast<std::int64_t>(config.state.max_rooms_per_client),
  };
}

// Sets the fields computed from the others: the history reply cap and what
// welcome advertises.
inline void derive_settings(ServerConfig& config) {
  config.state.max_reply_bytes = reply_byte_cap(config.connection.queue_bytes);
  config.state.limits = advertised_limits(config);
}

}  // namespace corochat::server
