#include "server/descriptors.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace corochat::server::descriptors {

std::size_t raise_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;  // the usual default
  if (limit.rlim_cur != limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  return static_cast<std::size_t>(limit.rlim_cur);
}

std::size_t in_use() {
  std::error_code ec;
  std::size_t count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++count;
  if (ec || count == 0) return 16;  // no /proc: stdio and the event loop's few
  return count - 1;  // the directory's own descriptor, gone by now
}

Budget fit(std::size_t limit, std::size_t reserved, std::size_t max_clients, std::size_t max_refusing) {
  const std::size_t left = limit > reserved ? limit - reserved : 0;
  Budget budget;
  budget.max_refusing = std::min(max_refusing, left / 4);
  budget.max_clients = std::max<std::size_t>(1, std::min(max_clients, left - budget.max_refusing));
  return budget;
}

Spare::Spare() {
  if (!take_back()) throw std::runtime_error("cannot open /dev/null for the spare descriptor");
}

Spare::~Spare() { give_up(); }

void Spare::give_up() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Spare::take_back() {
  if (fd_ < 0) fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd_ >= 0;
}

}  // namespace corochat::server::descriptors
