// Signal handling for ssetail: a flag, nothing else, is touched in the handler.
#include "signals.hpp"

#include <atomic>
#include <csignal>

#include "exit_status.hpp"

namespace ssetail {
namespace {

// Lock-free atomics are the one shared state a signal handler may write and threads may read.
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "a signal handler needs a lock-free flag");

extern "C" void on_stop_signal(int signal_number) {
  g_stop_signal.store(signal_number);
}

}  // namespace

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocked call returns EINTR and sees the flag sooner
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, nullptr);
}

bool stop_requested() {
  return g_stop_signal.load() != 0;
}

int stop_exit_status() {
  return kExitSignalBase + g_stop_signal.load();
}

}  // namespace ssetail
