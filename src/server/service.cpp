#include "server/service.hpp"

#include <cstdint>
#include <ctime>

#ifdef COROCHAT_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace corochat::server::service {

#ifdef COROCHAT_HAVE_SYSTEMD

void ready() { sd_notify(0, "READY=1"); }

void reloading() {
  // systemd 253 and later match the reload to this time (Type=notify-reload);
  // older ones ignore it.
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1'000'000ULL +
                    static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

void stopping() { sd_notify(0, "STOPPING=1"); }

std::chrono::microseconds watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec);
}

void watchdog_alive() { sd_notify(0, "WATCHDOG=1"); }

#else

void ready() {}
void reloading() {}
void stopping() {}
std::chrono::microseconds watchdog_interval() { return std::chrono::microseconds(0); }
void watchdog_alive() {}

#endif

}  // namespace corochat::server::service
