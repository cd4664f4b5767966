// soak_check_test.cpp: the soak's own judges, checked on made-up deliveries and delays.
//
// The soak passes when its DeliveryCheck and ReconnectAudit find nothing wrong; these cases show
// that each of them does find what it is there to find, so a passing soak means something.
#include <catch2/catch.hpp>

#include "soak/delivery_check.hpp"
#include "soak/reconnect_audit.hpp"

using ssekit::soak::DeliveryCheck;
using ssekit::soak::ReconnectAudit;
using ssekit::soak::sequence_of;
using std::chrono::milliseconds;

namespace {

void deliver(DeliveryCheck& check, std::int64_t seq, std::uint64_t id) {
  check.record("tick", "{\"seq\":" + std::to_string(seq) + "}", std::to_string(id));
}

ssekit::StateChange waiting(unsigned attempt, milliseconds delay, int http_status = 0) {
  ssekit::StateChange change;
  change.state = ssekit::State::waiting;
  change.attempt = attempt;
  change.delay = delay;
  change.reason.code =
      http_status != 0 ? ssekit::ErrorCode::http_retryable : ssekit::ErrorCode::network;
  change.reason.http_status = http_status;
  return change;
}

ssekit::ReconnectPolicy soak_policy() {
  ssekit::ReconnectPolicy policy;
  policy.initial = milliseconds(100);
  policy.max = milliseconds(1000);
  return policy;
}

}  // namespace

TEST_CASE("A sequence number is read from the publisher's data and nothing else", "[soak]") {
  CHECK(sequence_of("{\"seq\":42}") == 42);
  CHECK(sequence_of("{\"seq\":0}") == 0);
  CHECK(sequence_of("{\"seq\":}") == -1);
  CHECK(sequence_of("{\"seq\":4x}") == -1);
  CHECK(sequence_of("{\"reason\":\"retention\"}") == -1);
  CHECK(sequence_of("") == -1);
}

TEST_CASE("Every number once and in order is a clean delivery", "[soak]") {
  DeliveryCheck check("c");
  for (int seq = 1; seq <= 5; ++seq)
    deliver(check, seq, 100 + static_cast<std::uint64_t>(seq) * 3);

  const auto figures = check.figures(5);
  CHECK(figures.delivered == 5);
  CHECK(figures.lost == 0);
  CHECK(figures.duplicated == 0);
  CHECK(figures.reordered == 0);
  CHECK(figures.id_regressions == 0);
  CHECK(check.delivered_through() == 5);
}

TEST_CASE("Each kind of misdelivery is counted as what it is", "[soak]") {
  DeliveryCheck check("c");

  SECTION("a number never delivered is lost, also at the end") {
    deliver(check, 1, 1);
    deliver(check, 3, 3);
    const auto figures = check.figures(4);
    CHECK(figures.lost == 2);  // 2 skipped, 4 never reached
    CHECK(check.delivered_through() == 1);
  }
  SECTION("a number delivered twice is a duplicate, and its id goes back") {
    deliver(check, 1, 1);
    deliver(check, 2, 2);
    deliver(check, 2, 2);
    const auto figures = check.figures(2);
    CHECK(figures.duplicated == 1);
    CHECK(figures.id_regressions == 1);
    CHECK(figures.lost == 0);
  }
  SECTION("a number after a higher one is reordered, not lost") {
    deliver(check, 1, 1);
    deliver(check, 3, 3);
    deliver(check, 2, 4);
    const auto figures = check.figures(3);
    CHECK(figures.reordered == 1);
    CHECK(figures.lost == 0);
    CHECK(figures.duplicated == 0);
  }
  SECTION("an event that is not the publisher's is foreign") {
    deliver(check, 1, 1);
    check.record("reset", "{\"reason\":\"unknown-id\"}", "2");
    CHECK(check.figures(1).foreign == 1);
    CHECK_FALSE(check.figures(1).first_anomalies.empty());
  }
}

TEST_CASE("Reconnect delays are measured against the doubling policy", "[soak]") {
  ReconnectAudit audit(soak_policy(), milliseconds(2000));

  SECTION("delays within [0.7, 1.0] of min(initial * 2^n, max) pass") {
    audit.waiting(waiting(1, milliseconds(70)), 0);
    audit.waiting(waiting(2, milliseconds(200)), 0);
    audit.waiting(waiting(4, milliseconds(750)), 0);
    audit.waiting(waiting(9, milliseconds(1000)), 0);
    const auto figures = audit.figures();
    CHECK(figures.delays == 4);
    CHECK(figures.outside == 0);
    CHECK(figures.min_ratio == Approx(0.7));
    CHECK(figures.max_ratio == Approx(1.0));
  }
  SECTION("a delay too short or too long is outside") {
    audit.waiting(waiting(1, milliseconds(50)), 0);
    audit.waiting(waiting(3, milliseconds(401)), 0);
    CHECK(audit.figures().outside == 2);
  }
  SECTION("a 503's Retry-After is the policy's value when it is longer") {
    audit.waiting(waiting(1, milliseconds(2000), 503), 0);
    audit.waiting(waiting(1, milliseconds(90), 503), 0);
    CHECK(audit.figures().outside == 1);
  }
}

TEST_CASE("A server's retry counts once the client has read its line", "[soak]") {
  ReconnectAudit audit(soak_policy(), milliseconds(2000));

  SECTION("read: it replaces initial") {
    audit.opened(1000, milliseconds(600));
    audit.waiting(waiting(1, milliseconds(500)), 1000 + 11);  // "retry: 600\n" is 11 bytes
    audit.waiting(waiting(2, milliseconds(1000)), 1011);      // min(1200, max(600, 1000))
    CHECK(audit.figures().outside == 0);
  }
  SECTION("cut before its line end: initial stays") {
    audit.opened(1000, milliseconds(600));
    audit.waiting(waiting(1, milliseconds(500)), 1000 + 10);
    CHECK(audit.figures().outside == 1);
  }
}
