#include "ssekit/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace ssekit {

RandomSource default_random_source() {
  return [] {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
}

std::chrono::milliseconds backoff_delay(const ReconnectPolicy& policy, unsigned attempt,
                                        double random) {
  using std::chrono::milliseconds;

  // A server's retry: may exceed max; it is then honoured as is rather than cut down.
  const double initial =
      static_cast<double>(std::max<milliseconds::rep>(policy.initial.count(), 0));
  const double ceiling = std::max(initial, static_cast<double>(policy.max.count()));

  // Doubling in floating point cannot overflow; past 2^62 the min() has long since won.
  const double nominal =
      std::min(initial * std::ldexp(1.0, static_cast<int>(std::min(attempt, 62u))), ceiling);

  const double draw = std::clamp(random, 0.0, 1.0);
  const double factor = kJitterFloor + (1.0 - kJitterFloor) * draw;
  return milliseconds(static_cast<milliseconds::rep>(nominal * factor));
}

}  // namespace ssekit
