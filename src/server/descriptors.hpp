// chatd holds one descriptor per connection. Reaching the process's limit
// unawares leaves new peers unheard in the backlog while accept() fails, so
// chatd raises the limit, sizes its own limits to fit, and keeps one
// descriptor in reserve to say no with.
#pragma once

#include <cstddef>

namespace corochat::server::descriptors {

// Raises the soft RLIMIT_NOFILE to the hard one; returns the soft limit now
// in force (SIZE_MAX when unlimited).
std::size_t raise_limit();

// Descriptors open now (counted in /proc/self/fd), or an estimate.
std::size_t in_use();

// What fits under `limit` once `reserved` descriptors are set aside: the
// refusals that may be in progress at once (at most `max_refusing`, a quarter
// of what is left when descriptors are short) and the connections (at most
// `max_clients`, at least one).
struct Budget {
  std::size_t max_clients;
  std::size_t max_refusing;
};
Budget fit(std::size_t limit, std::size_t reserved, std::size_t max_clients, std::size_t max_refusing);

// A descriptor (/dev/null) kept open to be given up when accept() reports
// EMFILE: the listener can then take the waiting connection, refuse it and
// close it, instead of leaving it unanswered in the backlog.
class Spare {
 public:
  Spare();  // throws if /dev/null cannot be opened
  ~Spare();
  Spare(const Spare&) = delete;
  Spare& operator=(const Spare&) = delete;

  bool held() const { return fd_ >= 0; }
  void give_up();  // closes it, if held
  bool take_back();  // reopens it; false while no descriptor is free

 private:
  int fd_ = -1;
};

}  // namespace corochat::server::descriptors
