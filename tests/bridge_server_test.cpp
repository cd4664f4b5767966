// ssebridge without a database: the command line, the demo stream, fan-out through the
// in-memory hub, replay, limits and the operator endpoints, all against the real binary.
#include <catch2/catch.hpp>

#include <csignal>

#include "bridge_test_util.hpp"
#include "support/bridge_process.hpp"
#include "support/sse_socket.hpp"

using namespace ssekit::test;

TEST_CASE("ssebridge --help and --version print and exit 0, and a bad flag exits 2", "[bridge]") {
  const auto help = run_bridge({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("--listen HOST:PORT") != std::string::npos);
  CHECK(help.out.find("Exit status") != std::string::npos);

  const auto version = run_bridge({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("ssebridge ", 0) == 0);

  const auto bad = run_bridge({"--frobnicate"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("unknown option '--frobnicate'") != std::string::npos);

  const auto bad_value = run_bridge({"--heartbeat", "soon"});
  CHECK(bad_value.exit_code == 2);
  CHECK(bad_value.err.find("--heartbeat") != std::string::npos);

  const auto secret = run_bridge({"--auth-secret", "short"});
  CHECK(secret.exit_code == 2);
  CHECK(secret.err.find("short") == std::string::npos);  // a secret is never echoed
}

TEST_CASE("ssebridge exits 2 when its port is taken or its database is unreachable", "[bridge]") {
  BridgeProcess first({});
  const auto taken = run_bridge({"--listen", "127.0.0.1:" + std::to_string(first.port())});
  CHECK(taken.exit_code == 2);
  CHECK(taken.err.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())) !=
        std::string::npos);

  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  const auto no_db = run_bridge(
      {"--listen", "127.0.0.1:0", "--pg", "postgresql://nobody:hunter2@127.0.0.1:1/app"});
  CHECK(no_db.exit_code == 2);
  CHECK(no_db.err.find("cannot use the database") != std::string::npos);
  CHECK(no_db.err.find("hunter2") == std::string::npos);
}

TEST_CASE("with no configuration the bridge serves the demo stream, resumable by Last-Event-ID",
          "[bridge]") {
  BridgeProcess bridge({"--demo-interval", "50ms"});
  CHECK(bridge.log().find("kept in memory") != std::string::npos);

  SseSocket first(bridge.port(), "/demo/ticks");
  REQUIRE(first.status() == 200);
  const auto ticks = first.events(3, 5s);
  REQUIRE(ticks.size() == 3);
  for (size_t i = 0; i < ticks.size(); ++i) {
    CHECK(ticks[i].type == "tick");
    CHECK(ticks[i].data.find("\"n\":" + ticks[i].id + ",") != std::string::npos);
    CHECK(ticks[i].data.find("\"value\":") != std::string::npos);
    if (i > 0) CHECK(std::stoll(ticks[i].id) == std::stoll(ticks[i - 1].id) + 1);
  }
  first.close();

  // Reconnecting a while later, the stream resumes right after the last tick seen.
  std::this_thread::sleep_for(200ms);
  SseSocket again(bridge.port(), "/demo/ticks", {{"Last-Event-ID", ticks.back().id}});
  const auto next = again.next_event(5s);
  REQUIRE(next);
  CHECK(std::stoll(next->id) == std::stoll(ticks.back().id) + 1);
}

TEST_CASE("published events reach every subscriber of their channel, in order, and no other",
          "[bridge]") {
  BridgeProcess bridge({"--retry", "2500ms"});
  std::vector<std::unique_ptr<SseSocket>> readers_a;
  for (int i = 0; i < 3; ++i) {
    readers_a.push_back(std::make_unique<SseSocket>(bridge.port(), "/events?channel=a"));
  }
  SseSocket reader_b(bridge.port(), "/events?channel=b");
  SseSocket reader_ab(bridge.port(), "/events?channel=a&channel=b");

  const auto& one = *readers_a.front();
  CHECK(one.status() == 200);
  CHECK(one.header("Content-Type") == "text/event-stream");
  CHECK(one.header("Cache-Control") == "no-cache");
  CHECK(one.header("X-Accel-Buffering") == "no");

  std::vector<long long> ids_a;
  std::vector<long long> ids_b;
  for (int i = 0; i < 20; ++i) {
    ids_a.push_back(publish(bridge.port(), "a", "a" + std::to_string(i), "update"));
    if (i % 4 == 0) ids_b.push_back(publish(bridge.port(), "b", "b" + std::to_string(i)));
  }
  REQUIRE(ids_a.front() > 0);

  for (auto& reader : readers_a) {
    const auto events = reader->events(ids_a.size(), 10s);
    REQUIRE(events.size() == ids_a.size());
    for (size_t i = 0; i < events.size(); ++i) {
      CHECK(events[i].id == std::to_string(ids_a[i]));
      CHECK(events[i].type == "update");
      CHECK(events[i].data == "a" + std::to_string(i));
    }
    CHECK(reader->retry() == 2500);
  }
  const auto events_b = reader_b.events(ids_b.size(), 10s);
  REQUIRE(events_b.size() == ids_b.size());
  CHECK(events_b.front().data == "b0");
  CHECK(events_b.front().type == "message");
  CHECK(!reader_b.next_event(200ms));  // nothing of channel a

  const auto both = reader_ab.events(ids_a.size() + ids_b.size(), 10s);
  REQUIRE(both.size() == ids_a.size() + ids_b.size());
  for (size_t i = 1; i < both.size(); ++i)
    CHECK(std::stoll(both[i].id) > std::stoll(both[i - 1].id));
}

TEST_CASE("data with line breaks arrives as several data lines, joined back with LF", "[bridge]") {
  BridgeProcess bridge({});
  SseSocket reader(bridge.port(), "/events?channel=lines");
  REQUIRE(publish(bridge.port(), "lines", "one\ntwo\r\nthree\rfour") > 0);
  REQUIRE(publish(bridge.port(), "lines", "") > 0);
  const auto events = reader.events(2, 5s);
  REQUIRE(events.size() == 2);
  CHECK(events[0].data == "one\ntwo\nthree\nfour");
  CHECK(reader.body().find("data: one\ndata: two\ndata: three\ndata: four\n\n") !=
        std::string::npos);
  CHECK(events[1].data.empty());
}

TEST_CASE("Last-Event-ID, as a header or the lastEventId parameter, replays then goes live",
          "[bridge]") {
  BridgeProcess bridge({});
  std::vector<long long> ids;
  for (int i = 0; i < 10; ++i)
    ids.push_back(publish(bridge.port(), "r", std::to_string(i)));

  SECTION("the header") {
    SseSocket reader(bridge.port(), "/events?channel=r",
                     {{"Last-Event-ID", std::to_string(ids[3])}});
    const long long live = publish(bridge.port(), "r", "live");
    const auto events = reader.events(7, 5s);
    REQUIRE(events.size() == 7);
    CHECK(events.front().id == std::to_string(ids[4]));
    CHECK(events[5].id == std::to_string(ids[9]));
    CHECK(events[6].id == std::to_string(live));
    CHECK(!reader.next_event(200ms));
  }
  SECTION("the query parameter, with the header winning when both are there") {
    SseSocket reader(bridge.port(), "/events?channel=r&lastEventId=" + std::to_string(ids[0]));
    const auto events = reader.events(9, 5s);
    REQUIRE(events.size() == 9);
    CHECK(events.front().id == std::to_string(ids[1]));

    SseSocket both(bridge.port(), "/events?channel=r&lastEventId=" + std::to_string(ids[0]),
                   {{"Last-Event-ID", std::to_string(ids[8])}});
    const auto tail = both.events(1, 5s);
    REQUIRE(tail.size() == 1);
    CHECK(tail.front().id == std::to_string(ids[9]));
  }
}

TEST_CASE("a Last-Event-ID that cannot be resumed gets a reset event before live events",
          "[bridge]") {
  BridgeProcess bridge({"--history", "5"});
  long long last = 0;
  for (int i = 0; i < 10; ++i)
    last = publish(bridge.port(), "h", std::to_string(i));

  SECTION("older than the history kept") {
    SseSocket reader(bridge.port(), "/events?channel=h", {{"Last-Event-ID", "1"}});
    const auto reset = reader.next_event(5s);
    REQUIRE(reset);
    CHECK(reset->type == "reset");
    CHECK(reset->data.find("retention") != std::string::npos);
    CHECK(reset->id == std::to_string(last));
    const long long live = publish(bridge.port(), "h", "after");
    const auto next = reader.next_event(5s);
    REQUIRE(next);
    CHECK(next->id == std::to_string(live));
  }
  SECTION("newer than any id issued, as after the bridge restarted") {
    SseSocket reader(bridge.port(), "/events?channel=h", {{"Last-Event-ID", "999"}});
    const auto reset = reader.next_event(5s);
    REQUIRE(reset);
    CHECK(reset->type == "reset");
    CHECK(reset->data.find("unknown-id") != std::string::npos);
  }
}

TEST_CASE("bad requests get 400 with the reason", "[bridge]") {
  BridgeProcess bridge({"--max-body", "1K"});
  httplib::Client http("127.0.0.1", bridge.port());
  const auto expect_400 = [](const httplib::Result& res, const std::string& reason) {
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(res->body.find(reason) != std::string::npos);
  };
  expect_400(http.Get("/events"), "channel parameter is required");
  expect_400(http.Get("/events?channel=a%20b"), "outside A-Z a-z 0-9");
  expect_400(http.Get(("/events?channel=" + std::string(57, 'x')).c_str()), "longer than 56");
  expect_400(http.Get("/events?channel=a&lastEventId=12abc"), "not an event id");
  expect_400(http.Get("/events?channel=a", {{"Last-Event-ID", "-3"}}), "not an event id");
  std::string many = "/events?channel=c0";
  for (int i = 1; i < 40; ++i)
    many += "&channel=c" + std::to_string(i);
  expect_400(http.Get(many.c_str()), "at most 32 channels");
  expect_400(http.Post("/events?channel=a&type=a%0Ab", "x", "text/plain"), "event type");
  expect_400(http.Post("/events", "x", "text/plain"), "channel parameter is required");
  expect_400(http.Post("/events?channel=a", std::string(1025, 'x'), "text/plain"),
             "body too large");
  expect_400(http.Post("/events?channel=a", std::string("bad \xff byte"), "text/plain"),
             "not valid UTF-8");
  expect_400(http.Get("/faults/close?after=lots"), "parameter after");

  // The bridge is still fine after all that.
  CHECK(publish(bridge.port(), "a", std::string(1024, 'y')) > 0);
}

TEST_CASE("past --max-clients a stream gets 503 with Retry-After until a client leaves",
          "[bridge]") {
  BridgeProcess bridge({"--max-clients", "2"});
  auto one = std::make_unique<SseSocket>(bridge.port(), "/events?channel=x");
  SseSocket two(bridge.port(), "/demo/ticks");
  REQUIRE(one->status() == 200);
  REQUIRE(two.status() == 200);

  SseSocket refused(bridge.port(), "/events?channel=x");
  CHECK(refused.status() == 503);
  CHECK(!refused.header("Retry-After").empty());
  CHECK(metric(bridge.port(), "ssebridge_clients_rejected_total") == 1);

  // Publishing and health checks still work at the limit.
  CHECK(publish(bridge.port(), "x", "still here") > 0);

  one->close();
  CHECK(eventually([&] { return metric(bridge.port(), "ssebridge_clients_connected") == 1; }));
  SseSocket three(bridge.port(), "/events?channel=x");
  CHECK(three.status() == 200);
}

TEST_CASE("a client that stops reading is dropped without holding back the others", "[bridge]") {
  BridgeProcess bridge({"--client-queue", "16", "--max-body", "64K"});
  // A tiny receive buffer, and this client never reads: its queue overflows.
  SseSocket stalled(bridge.port(), "/events?channel=s", {}, 4096);
  SseSocket reader(bridge.port(), "/events?channel=s");
  REQUIRE(stalled.status() == 200);

  const std::string payload(60000, 'p');
  constexpr int kEvents = 300;  // 18 MB: more than socket buffers and the queue can hold
  std::thread publisher([&] {
    for (int i = 0; i < kEvents; ++i)
      publish(bridge.port(), "s", payload);
  });
  const auto events = reader.events(kEvents, 60s);
  publisher.join();
  CHECK(events.size() == static_cast<size_t>(kEvents));
  CHECK(eventually(
      [&] { return metric(bridge.port(), "ssebridge_slow_clients_dropped_total") == 1; }));
  CHECK(bridge.wait_for_log("dropped: its send queue is full", 5s));
}

TEST_CASE("an idle stream gets heartbeat comments", "[bridge]") {
  BridgeProcess bridge({"--heartbeat", "100ms", "--retry", "0"});
  SseSocket reader(bridge.port(), "/events?channel=quiet");
  CHECK(!reader.next_event(550ms));
  CHECK(reader.comments() >= 3);
  CHECK(reader.retry() == -1);
}

TEST_CASE("/healthz, /metrics and the live page answer", "[bridge]") {
  BridgeProcess bridge({});
  httplib::Client http("127.0.0.1", bridge.port());

  const auto health = http.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body.find("\"store\":\"memory\"") != std::string::npos);

  SseSocket reader(bridge.port(), "/events?channel=m");
  publish(bridge.port(), "m", "one");
  REQUIRE(reader.next_event(5s));
  const auto metrics = http.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->get_header_value("Content-Type").find("text/plain") == 0);
  CHECK(metrics->body.find("# TYPE ssebridge_events_sent_total counter") != std::string::npos);
  CHECK(metric(bridge.port(), "ssebridge_clients_connected") == 1);
  CHECK(metric(bridge.port(), "ssebridge_events_published_total") == 1);
  CHECK(metric(bridge.port(), "ssebridge_events_sent_total") == 1);

  const auto page = http.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type").find("text/html") == 0);
  CHECK(page->body.find("new EventSource(") != std::string::npos);
  CHECK(page->body.find("/demo/ticks") != std::string::npos);
  CHECK(page->body.find("<canvas") != std::string::npos);
}

TEST_CASE("SIGTERM ends open streams and exits 0", "[bridge]") {
  BridgeProcess bridge({});
  SseSocket reader(bridge.port(), "/events?channel=t");
  SseSocket demo(bridge.port(), "/demo/ticks");
  SseSocket stalled(bridge.port(), "/faults/stall");
  CHECK(bridge.stop() == 0);
  CHECK(reader.wait_closed(5s));
  CHECK(stalled.wait_closed(5s));
  CHECK(bridge.log().find("stopped") != std::string::npos);
}
