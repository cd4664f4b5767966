// How ssetail stops: SIGINT and SIGTERM set a flag that the printing code polls, so it can
// finish cleanly and exit 128 + signal; SIGPIPE is ignored so a closed stdout is an EPIPE.
#pragma once

namespace ssetail {

/// Installs the handlers. Call once, before any thread starts.
void install_signal_handlers();

/// True once SIGINT or SIGTERM arrived. Async-signal-safe to set, cheap to poll.
bool stop_requested();

/// 128 + the signal that asked to stop (130 for SIGINT).
int stop_exit_status();

}  // namespace ssetail
