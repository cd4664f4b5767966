// The heartbeat watchdog: silence for idle_timeout drops the link as stale and reconnects; any
// byte, a comment included, keeps it alive.
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
using ssekit::test::Recorder;
using ssekit::test::SseTestServer;
using ssekit::test::StreamWriter;

TEST_CASE("a server that stalls forever is dropped as stale and reconnected", "[watchdog]") {
  // Before the server: a request it took in may still reach the handler as the test unwinds.
  std::atomic<int> connection{0};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    const int n = ++connection;
    server.stream(response, [n](StreamWriter& out) {
      out.write("id: " + std::to_string(n) + "\ndata: hello\n\n");
      out.stall();
    });
  });

  auto options = fast_options(server.url("/events"));
  options.idle_timeout = 150ms;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  const auto started = std::chrono::steady_clock::now();
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(2));

  CHECK(std::chrono::steady_clock::now() - started >= 150ms);
  const auto waits = recorder.states_of(State::waiting);
  REQUIRE(waits.size() >= 1);
  CHECK(waits[0].reason.code == ErrorCode::stale);
  CHECK(server.requests().at(1).header("Last-Event-ID") == "1");
}

TEST_CASE("heartbeat comments keep a quiet stream alive", "[watchdog]") {
  // Before the server: a request it took in may still reach the handler as the test unwinds.
  std::atomic<bool> done{false};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [&](StreamWriter& out) {
      // Three idle timeouts' worth of heartbeats, each well inside the timeout.
      for (int i = 0; i < 30; ++i) {
        if (!out.write(":\n") || !out.pause(50ms)) return;
      }
      out.write("data: end\n\n");
      done = true;
      out.stall();
    });
  });

  auto options = fast_options(server.url("/events"));
  options.idle_timeout = 500ms;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(1));
  CHECK(recorder.states_of(State::waiting).empty());
  CHECK(recorder.comments().size() == 30);
  CHECK(client.stats().comments == 30);
}

TEST_CASE("a server that accepts but never answers is dropped as stale", "[watchdog]") {
  // Before the server: a request it took in may still reach the handler as the test unwinds.
  std::atomic<int> connection{0};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    if (++connection == 1) {
      // Hold the response head back: the client has a connection and no byte.
      std::this_thread::sleep_for(500ms);
      response.status = 503;
      return;
    }
    server.stream(response, [](StreamWriter& out) {
      out.write("data: ok\n\n");
      out.stall();
    });
  });

  auto options = fast_options(server.url("/events"));
  options.idle_timeout = 100ms;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(1));
  CHECK(recorder.states_of(State::waiting).at(0).reason.code == ErrorCode::stale);
}

TEST_CASE("close() while the server is silent is prompt", "[watchdog][client]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) { out.stall(); });
  });
  Recorder recorder;
  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::open));
  const auto before = std::chrono::steady_clock::now();
  client.close();
  CHECK(std::chrono::steady_clock::now() - before < 100ms);
}
