// The completion token every corochat coroutine waits with: errors come back
// as values (the first element of a tuple), never as exceptions, so a closed
// socket or a cancelled timer is an ordinary result on the hot path.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace corochat {

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace corochat
