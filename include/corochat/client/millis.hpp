// The one duration type of the client kit: timeouts, pauses and deadlines in
// whole milliseconds.
#pragma once

#include <chrono>

namespace corochat::client {

using Millis = std::chrono::milliseconds;

}  // namespace corochat::client
