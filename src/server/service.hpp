// What chatd tells its service manager (systemd, Type=notify): started,
// reloading, stopping, and that the event loop still turns (the watchdog).
// Nothing happens when chatd is not run by one ($NOTIFY_SOCKET unset), or
// when it was built without libsystemd.
#pragma once

#include <chrono>

namespace corochat::server::service {

// Listening: READY=1.
void ready();
// A reload begins (SIGHUP): RELOADING=1 with the monotonic time; ready() again when done.
void reloading();
// Shutdown began: STOPPING=1.
void stopping();
// The watchdog interval the manager asked for (WatchdogSec=), or zero.
std::chrono::microseconds watchdog_interval();
// WATCHDOG=1: the event loop turned.
void watchdog_alive();

}  // namespace corochat::server::service
