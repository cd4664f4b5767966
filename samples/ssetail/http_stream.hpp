// `ssetail URL`: follow a stream with ssekit's Client (reconnect, resume, watchdog) and decide
// the exit status from why it closed.
#pragma once

#include <optional>
#include <string>

#include "cli.hpp"
#include "status_log.hpp"
#include "tail.hpp"

namespace ssetail {

/// Streams `options.url` into `tail` until the tail stops, the client closes for good or a stop
/// signal arrives. Resumes from `start_id` when set. Returns the exit status.
int tail_url(const TailOptions& options, const std::optional<std::string>& start_id, Tail& tail,
             const StatusLog& log);

}  // namespace ssetail
