#include "server/request_reader.hpp"

#include <variant>

namespace corochat::server {

// Collects what the framer finds in one read, in order.
struct RequestReader::Sink {
  std::vector<protocol::ParseResult>& items;
  RateLimiter& flood;
  Clock::time_point now;
  bool& quit;
  std::size_t ignored = 0;

  void on_line(std::string_view line) {
    if (quit) {
      ignored += line.size() + 1;
      return;
    }
    protocol::ParseResult parsed = protocol::parse_request(line);
    if (!flood.allow(now)) {
      // A refused line still cost a parse: its bytes spend the budget like
      // ignored input, so that lines over the limit cannot stream in freely.
      ignored += line.size() + 1;
      protocol::RequestId id;
      if (auto* r = std::get_if<protocol::Request>(&parsed)) id = std::move(r->id);
      else id = std::move(std::get<protocol::RequestError>(parsed).id);
      items.emplace_back(
          protocol::RequestError{protocol::ErrorCode::rate_limited, "too many requests, slow down", std::move(id)});
      return;
    }
    if (auto* r = std::get_if<protocol::Request>(&parsed); r && std::holds_alternative<protocol::Quit>(r->body))
      quit = true;
    items.push_back(std::move(parsed));
  }
  // Every line, too long or not, gets exactly one reply, and counts toward
  // the flood limit.
  void on_too_long() {
    if (quit) return;
    const bool allowed = flood.allow(now);
    items.emplace_back(protocol::RequestError{
        allowed ? protocol::ErrorCode::line_too_long : protocol::ErrorCode::rate_limited,
        allowed ? "line longer than the server's max_line" : "too many requests, slow down", std::nullopt});
  }
  void on_ignored(std::size_t bytes) { ignored += bytes; }
};

std::vector<protocol::ParseResult> RequestReader::feed(std::string_view bytes, Clock::time_point now) {
  std::vector<protocol::ParseResult> items;
  Sink sink{items, flood_, now, quit_};
  framer_.feed(bytes, sink);
  charge(sink.ignored, now);
  return items;
}

}  // namespace corochat::server
