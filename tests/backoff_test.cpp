// Unit tests of backoff_delay(): capped exponential growth scaled by jitter in [0.7, 1.0].
#include <catch2/catch.hpp>

#include "ssekit/backoff.hpp"

using ssekit::backoff_delay;
using ssekit::ReconnectPolicy;
using namespace std::chrono_literals;

TEST_CASE("the delay doubles per attempt until it reaches max", "[backoff]") {
  ReconnectPolicy policy;
  policy.initial = 1000ms;
  policy.max = 30000ms;
  const std::chrono::milliseconds expected[] = {1000ms,  2000ms,  4000ms,  8000ms,
                                                16000ms, 30000ms, 30000ms, 30000ms};
  for (unsigned attempt = 0; attempt < std::size(expected); ++attempt) {
    CAPTURE(attempt);
    CHECK(backoff_delay(policy, attempt, 1.0) == expected[attempt]);
  }
}

TEST_CASE("jitter scales the delay into [0.7, 1.0] of its nominal value", "[backoff]") {
  ReconnectPolicy policy;
  policy.initial = 1000ms;
  CHECK(backoff_delay(policy, 0, 0.0) == 700ms);
  CHECK(backoff_delay(policy, 0, 0.5) == 850ms);
  CHECK(backoff_delay(policy, 0, 1.0) == 1000ms);
  CHECK(backoff_delay(policy, 3, 0.0) == 5600ms);

  SECTION("draws outside [0, 1] are clamped") {
    CHECK(backoff_delay(policy, 0, -3.0) == 700ms);
    CHECK(backoff_delay(policy, 0, 9.0) == 1000ms);
  }
}

TEST_CASE("huge attempt numbers stay at max without overflow", "[backoff]") {
  ReconnectPolicy policy;
  CHECK(backoff_delay(policy, 1000, 1.0) == policy.max);
  CHECK(backoff_delay(policy, 4000000000u, 1.0) == policy.max);
}

TEST_CASE("an initial delay above max, as a long server retry, is honoured", "[backoff]") {
  ReconnectPolicy policy;
  policy.initial = 120000ms;
  policy.max = 30000ms;
  CHECK(backoff_delay(policy, 0, 1.0) == 120000ms);
  CHECK(backoff_delay(policy, 5, 1.0) == 120000ms);
}

TEST_CASE("a zero initial delay gives zero, never negative", "[backoff]") {
  ReconnectPolicy policy;
  policy.initial = 0ms;
  CHECK(backoff_delay(policy, 0, 0.3) == 0ms);
  CHECK(backoff_delay(policy, 10, 0.3) == 0ms);
}

TEST_CASE("the default random source draws in [0, 1)", "[backoff]") {
  auto random = ssekit::default_random_source();
  for (int i = 0; i < 1000; ++i) {
    const double draw = random();
    REQUIRE(draw >= 0.0);
    REQUIRE(draw < 1.0);
  }
}
