// policy.hpp: how the outcome of a connection attempt becomes an action and an error.
//
// classify() (public, in options.hpp) decides what happens; the helpers here turn the same
// outcome into the Error an app sees, naming the status, content type or transport failure.
#pragma once

#include <string>
#include <string_view>

#include "ssekit/error.hpp"
#include "ssekit/options.hpp"

namespace ssekit::detail {

/// The standard reason phrase of an HTTP status ("Not Found"), or "" for an unusual one.
std::string_view reason_phrase(int status) noexcept;

/// "HTTP 404 Not Found": the status with the server's reason, or the standard one when the
/// server sent none (HTTP/2 has no reason phrase).
std::string describe_status(int status, std::string_view server_reason = {});

/// The error an outcome stands for, with `request` ("GET http://host/path", already redacted)
/// leading the message. `detail` (already scrubbed) is the transport's own text, if any.
Error outcome_error(const Outcome& outcome, std::string_view request,
                    std::string_view server_reason = {}, std::string_view detail = {});

}  // namespace ssekit::detail
