// What a connection's reader does after each read, as a value: the transport
// drivers do the I/O, this decides.
#pragma once

#include <string_view>
#include <vector>

#include "corochat/protocol/request.hpp"
#include "server/request_reader.hpp"

namespace corochat::server {

struct ReadStep {
  enum class Kind {
    post_batch,  // tell the broadcaster `batch`; read on once it is handled and the queue is at most half full
    read_again,  // nothing to execute: read again in a later turn, so that others have theirs
    throttled,   // the flood budget is in debt: read again at `until`
  };
  Kind kind;
  std::vector<protocol::ParseResult> batch;
  RequestReader::Clock::time_point until{};
};

// After a read of `bytes` at `now`. While the connection closes, input is
// only drained (it executes nothing, and costs as much as ignored input).
ReadStep after_read(RequestReader& reader, std::string_view bytes, bool closing, RequestReader::Clock::time_point now);

// Once a batch is handled and the queue is at most half full: read at once
// (read_again), or wait for the budget (throttled).
ReadStep after_batch(RequestReader& reader, RequestReader::Clock::time_point now);

}  // namespace corochat::server
