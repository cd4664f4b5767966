// ssetail's exit statuses, the ones docs/ssetail.md lists.
#pragma once

#include <csignal>

namespace ssetail {

/// Done: --max-events reached, HTTP 204, end of standard input, --no-reconnect and the stream
/// ended, or the reader of stdout went away.
inline constexpr int kExitDone = 0;
/// The stream failed for good; stderr names the cause.
inline constexpr int kExitFailed = 1;
/// Bad usage: unknown flag, bad value, missing or bad URL.
inline constexpr int kExitUsage = 2;
/// The shell convention for "killed by signal N" is 128 + N: 130 for Ctrl-C.
inline constexpr int kExitSignalBase = 128;

}  // namespace ssetail
