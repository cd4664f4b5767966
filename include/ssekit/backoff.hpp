// ssekit/backoff.hpp: the reconnect delay, as a pure function.
//
// The delay before reconnect attempt n (counting from 0) is
//   min(initial * 2^n, max) * u,  u uniform in [0.7, 1.0]
// The jitter keeps a thousand clients whose server restarted from reconnecting in lockstep;
// capping it below 1.0 keeps the delay at most the nominal value. The client only counts
// attempts; everything about the delay is decided here.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

namespace ssekit {

/// How reconnects are spaced and when they stop.
struct ReconnectPolicy {
  /// Delay before the first reconnect, and the base the exponent doubles. Default 1 s. A
  /// server's `retry:` field replaces it for the rest of the stream.
  std::chrono::milliseconds initial{1000};

  /// Ceiling of the un-jittered delay. Default 30 s: long enough to spare a struggling server,
  /// short enough that a dashboard is back within half a minute of its server.
  std::chrono::milliseconds max{30000};

  /// A connection open and receiving bytes this long resets the attempt counter. Default 60 s.
  std::chrono::milliseconds reset_after{60000};

  /// Upper bound on a server's `retry:` value, so a typo cannot park clients for days.
  /// Default 1 h.
  std::chrono::milliseconds max_server_retry{3600000};

  /// Give up after this many consecutive failed attempts. Default: never.
  std::optional<unsigned> max_attempts;

  /// Give up after this long without an open connection. Default: never.
  std::optional<std::chrono::milliseconds> max_disconnected;
};

/// Lowest factor of the jitter: delays are spread over [0.7, 1.0] of the nominal value.
inline constexpr double kJitterFloor = 0.7;

/// A source of uniform random numbers in [0, 1). Injected so tests can pin the jitter.
using RandomSource = std::function<double()>;

/// The default random source: a per-thread Mersenne Twister seeded from std::random_device.
RandomSource default_random_source();

/// The delay before reconnect attempt `attempt` (0 for the first). `random` is the raw draw in
/// [0, 1); it maps to the jitter factor 0.7 + 0.3 * random. Never negative, never above `max`
/// (or above `initial` when `initial` exceeds `max`, as a large server `retry:` may).
std::chrono::milliseconds backoff_delay(const ReconnectPolicy& policy, unsigned attempt,
                                        double random);

}  // namespace ssekit
