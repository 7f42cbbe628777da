#include "server/connection/read_step.hpp"

namespace corochat::server {

ReadStep after_batch(RequestReader& reader, RequestReader::Clock::time_point now) {
  // Input that made no request, or lines refused by the flood limit, put the
  // budget in debt: the reader waits until the rate has paid it back,
  // whatever the last read made.
  const auto at = reader.read_again_at(now);
  if (at > now) return ReadStep{ReadStep::Kind::throttled, {}, at};
  return ReadStep{ReadStep::Kind::read_again, {}, {}};
}

ReadStep after_read(RequestReader& reader, std::string_view bytes, bool closing, RequestReader::Clock::time_point now) {
  if (closing) {
    reader.discard(bytes.size(), now);  // drained until the peer closes
  } else {
    std::vector<protocol::ParseResult> items = reader.feed(bytes, now);
    if (!items.empty()) return ReadStep{ReadStep::Kind::post_batch, std::move(items), {}};
  }
  return after_batch(reader, now);
}

}  // namespace corochat::server
