// The streaming client end to end against a scripted local server: opening, events, the pull
// API, statuses, content types, redirects, payload sizes, many streams, close().
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "ssekit/client.hpp"
#include "ssekit/loop.hpp"
#include "support/client_recorder.hpp"
#include "support/sse_test_server.hpp"

using namespace std::chrono_literals;
using ssekit::Client;
using ssekit::ErrorCode;
using ssekit::Event;
using ssekit::State;
using ssekit::test::fast_options;
using ssekit::test::Recorder;
using ssekit::test::SseTestServer;
using ssekit::test::StreamWriter;

TEST_CASE("a stream opens and delivers its events in order", "[client]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) {
      out.write("id: 1\ndata: one\n\n");
      out.write("event: tick\ndata: two\ndata: lines\n\n");
      out.write(": heartbeat\n\n");
      out.stall();
    });
  });

  Client client(fast_options(server.url("/events")));
  Recorder recorder;
  recorder.attach(client);
  REQUIRE_FALSE(client.start());

  REQUIRE(recorder.wait_events(2));
  const auto events = recorder.events();
  CHECK(events[0] == Event{"message", "one", "1"});
  CHECK(events[1] == Event{"tick", "two\nlines", "1"});
  CHECK(client.state() == State::open);
  CHECK(client.last_event_id() == "1");

  const auto request = server.requests().at(0);
  CHECK(request.method == "GET");
  CHECK(request.header("Accept") == "text/event-stream");
  CHECK(request.header("Cache-Control") == "no-cache");
  CHECK_FALSE(request.has_header("Last-Event-ID"));

  client.close();
  CHECK(client.state() == State::closed);
  CHECK(client.close_reason().code == ErrorCode::closed_by_app);
}
