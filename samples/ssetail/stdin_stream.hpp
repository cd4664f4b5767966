// `ssetail -`: parse an event stream from standard input (a capture, or `curl -N URL | ssetail -`)
// with ssekit's EventParser, and end at the end of input.
#pragma once

#include <optional>
#include <string>

#include "cli.hpp"
#include "status_log.hpp"
#include "tail.hpp"

namespace ssetail {

/// Feeds standard input to the parser and each event to `tail` until end of input (exit 0), the
/// tail stops, a read fails (exit 1) or a stop signal arrives. `start_id` seeds the last event
/// id that events before the first `id:` field carry. Returns the exit status.
int tail_stdin(const std::optional<std::string>& start_id, Tail& tail, const StatusLog& log);

}  // namespace ssetail
