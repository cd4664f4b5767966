// Reconnect policy of the client: delays from the injected random source, the server's retry:,
// Retry-After, the healthy-period reset (with an injected clock), caps, and bursts of errors.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>

#include "ssekit/client.hpp"
#include "support/client_recorder.hpp"
#include "support/sse_test_server.hpp"

using namespace std::chrono_literals;
using ssekit::Client;
using ssekit::ErrorCode;
using ssekit::State;
using ssekit::test::fast_options;
using ssekit::test::fixed_random;
using ssekit::test::Recorder;
using ssekit::test::SseTestServer;
using ssekit::test::StreamWriter;

namespace {

std::vector<std::chrono::milliseconds> delays_of(const Recorder& recorder) {
  std::vector<std::chrono::milliseconds> delays;
  for (const auto& change : recorder.states_of(State::waiting))
    delays.push_back(change.delay);
  return delays;
}

std::vector<unsigned> attempts_of(const Recorder& recorder) {
  std::vector<unsigned> attempts;
  for (const auto& change : recorder.states_of(State::waiting))
    attempts.push_back(change.attempt);
  return attempts;
}

// A clock the test moves by hand, on top of the real one so timers still make progress.
struct ManualClock {
  std::atomic<std::chrono::steady_clock::rep> offset{0};
  void advance(std::chrono::milliseconds by) {
    offset += std::chrono::duration_cast<std::chrono::steady_clock::duration>(by).count();
  }
  std::function<std::chrono::steady_clock::time_point()> function() {
    return [this] {
      return std::chrono::steady_clock::now() + std::chrono::steady_clock::duration(offset.load());
    };
  }
};

}  // namespace

TEST_CASE("delays double from the initial one, jittered by the random source",
          "[reconnect][backoff]") {
  SseTestServer server;
  server.handle("/events", [](const auto&, httplib::Response& response) { response.status = 503; });

  auto options = fast_options(server.url("/events"));
  options.reconnect_policy.initial = 20ms;
  options.reconnect_policy.max = 100ms;
  options.reconnect_policy.max_attempts = 6;

  SECTION("a draw of 0 gives 0.7 of the nominal delay") {
    options.random = fixed_random(0.0);
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(delays_of(recorder) ==
          std::vector<std::chrono::milliseconds>{14ms, 28ms, 56ms, 70ms, 70ms});
    CHECK(attempts_of(recorder) == std::vector<unsigned>{1, 2, 3, 4, 5});
    CHECK(client.close_reason().code == ErrorCode::retries_exhausted);
    CHECK(server.request_count() == 6);
  }
  SECTION("a draw of 1 gives the nominal delay") {
    options.random = fixed_random(1.0);
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(delays_of(recorder) ==
          std::vector<std::chrono::milliseconds>{20ms, 40ms, 80ms, 100ms, 100ms});
  }
}

TEST_CASE("a server's retry: replaces the initial delay", "[reconnect][backoff]") {
  // Before the server: a request it took in may still reach the handler as the test unwinds.
  std::atomic<int> connection{0};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    const int n = ++connection;
    server.stream(response, [n](StreamWriter& out) {
      if (n == 1) out.write("retry: 50\ndata: x\n\n");
      if (n >= 3) out.stall();
    });
  });

  auto options = fast_options(server.url("/events"));
  options.reconnect_policy.max = 1000ms;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait([&] { return recorder.count_state(State::open) >= 3; }));
  CHECK(delays_of(recorder) == std::vector<std::chrono::milliseconds>{50ms, 100ms});
}

TEST_CASE("a server's retry: is capped by max_server_retry", "[reconnect][backoff]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) { out.write("retry: 86400000\n\n"); });
  });
  auto options = fast_options(server.url("/events"));
  options.reconnect_policy.max_server_retry = 300ms;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::waiting));
  CHECK(delays_of(recorder).at(0) == 300ms);
}

TEST_CASE("Retry-After is honoured when longer than the backoff delay", "[reconnect][backoff]") {
  SseTestServer server;
  server.handle("/events", [](const auto&, httplib::Response& response) {
    response.status = 429;
    response.set_header("Retry-After", "2");
  });
  Recorder recorder;
  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::waiting));
  CHECK(delays_of(recorder).at(0) == 2000ms);
  client.close();
  CHECK(server.request_count() == 1);
}

TEST_CASE("a stream closed cleanly right after opening still backs off", "[reconnect][backoff]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter&) {});  // open, then end at once
  });
  auto options = fast_options(server.url("/events"));
  options.reconnect_policy.max_attempts = 5;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::closed));

  CHECK(recorder.opens() == 5);
  CHECK(delays_of(recorder) == std::vector<std::chrono::milliseconds>{20ms, 40ms, 80ms, 160ms});
  CHECK(client.close_reason().code == ErrorCode::retries_exhausted);
}

TEST_CASE("the attempt counter resets after a healthy period", "[reconnect][backoff]") {
  ManualClock clock;
  std::atomic<int> connection{0};
  std::atomic<bool> advanced{false};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    const int n = ++connection;
    if (n <= 2) {
      response.status = 503;  // two failures: the next delay would be 4 x initial
      return;
    }
    server.stream(response, [&, n](StreamWriter& out) {
      if (n == 3) {
        out.write("data: one\n\n");
        if (!out.wait_until([&] { return advanced.load(); })) return;
        out.write("data: two\n\n");  // bytes still flow after the healthy period
        return;
      }
      out.stall();
    });
  });

  auto options = fast_options(server.url("/events"));
  options.clock = clock.function();
  options.idle_timeout = 0ms;  // the manual clock must not trip the watchdog
  options.reconnect_policy.reset_after = 60s;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(1));
  clock.advance(61s);
  advanced = true;
  REQUIRE(recorder.wait_state(State::waiting, 3));

  CHECK(delays_of(recorder) == std::vector<std::chrono::milliseconds>{20ms, 40ms, 20ms});
  CHECK(attempts_of(recorder) == std::vector<unsigned>{1, 2, 1});
}

TEST_CASE("max_disconnected gives up after that long without a connection",
          "[reconnect][backoff]") {
  ManualClock clock;
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    response.status = 503;
    clock.advance(400ms);  // every refusal takes 400 ms on the client's clock
  });
  auto options = fast_options(server.url("/events"));
  options.clock = clock.function();
  options.reconnect_policy.max_disconnected = 1000ms;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::closed));
  CHECK(client.close_reason().code == ErrorCode::retries_exhausted);
  CHECK(server.request_count() == 3);  // 400, 800, then 1200 ms >= 1000 ms
}

TEST_CASE("with reconnect off the first end of stream closes the client", "[reconnect]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) { out.write("data: x\n\n"); });
  });
  auto options = fast_options(server.url("/events"));
  options.reconnect = false;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::closed));
  CHECK(client.close_reason().code == ErrorCode::stream_ended);
  CHECK(server.request_count() == 1);
}

TEST_CASE("a burst of errors schedules one reconnect", "[reconnect]") {
  // Each connection fails in several ways at once: a parser limit error, then the watchdog
  // deadline and the server's close at nearly the same moment. Every failure must lead to
  // exactly one waiting state and one further request.
  // Before the server: a request it took in may still reach the handler as the test unwinds.
  std::atomic<int> connection{0};
  SseTestServer server(32);
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    const int n = ++connection;
    server.stream(response, [n](StreamWriter& out) {
      if (n > 6) {
        out.stall();
        return;
      }
      out.write("data: " + std::string(300, 'x') + "\n\n");  // over the 100-byte line limit
      out.pause(std::chrono::milliseconds(60));              // about the idle timeout
    });
  });
  auto options = fast_options(server.url("/events"));
  options.idle_timeout = 60ms;
  options.limits.max_line_bytes = 100;
  options.reconnect_policy.initial = 5ms;
  options.reconnect_policy.max = 5ms;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait([&] { return recorder.count_state(State::waiting) >= 6; }));
  REQUIRE(server.wait_for_requests(7));
  client.close();

  const auto waits = recorder.states_of(State::waiting);
  CHECK(waits.size() == 6);
  CHECK(server.request_count() == 7);
  CHECK(client.stats().reconnects == 6);
  for (std::size_t i = 0; i < waits.size(); ++i)
    CHECK(waits[i].attempt == i + 1);
}
