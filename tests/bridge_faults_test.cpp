// ssebridge's /faults/...: each scripted misbehaviour sends exactly what docs/faults.md says.
#include <catch2/catch.hpp>

#include "bridge_test_util.hpp"
#include "support/bridge_process.hpp"
#include "support/sse_socket.hpp"

using namespace ssekit::test;

namespace {

// One bridge for every fault test of this process: faults keep no state between requests.
BridgeProcess& bridge() {
  static BridgeProcess process({"--retry", "0", "--heartbeat", "0"});
  return process;
}

}  // namespace

TEST_CASE("/faults/close sends N events then ends, numbering on from Last-Event-ID",
          "[bridge][faults]") {
  SseSocket first(bridge().port(), "/faults/close?after=3");
  REQUIRE(first.status() == 200);
  const auto events = first.events(10, 5s);
  REQUIRE(events.size() == 3);
  CHECK(events[0].id == "1");
  CHECK(events[2].data == "event 3");
  CHECK(first.wait_closed(5s));
  CHECK(first.ended_cleanly());

  SseSocket resumed(bridge().port(), "/faults/close?after=2", {{"Last-Event-ID", "3"}});
  const auto more = resumed.events(10, 5s);
  REQUIRE(more.size() == 2);
  CHECK(more[0].id == "4");

  SseSocket aborted(bridge().port(), "/faults/close?after=1&abort=1");
  CHECK(aborted.events(10, 5s).size() == 1);
  CHECK(aborted.wait_closed(5s));
  CHECK(!aborted.ended_cleanly());
}

TEST_CASE("/faults/stall goes silent after N events and lets go when the client leaves",
          "[bridge][faults]") {
  // Streams of earlier cases release their slot just after their last byte: wait for that.
  REQUIRE(eventually([&] { return metric(bridge().port(), "ssebridge_clients_connected") == 0; }));
  const long long before = 0;
  auto stalled = std::make_unique<SseSocket>(bridge().port(), "/faults/stall?after=1");
  REQUIRE(stalled->status() == 200);
  CHECK(stalled->events(1, 5s).size() == 1);
  CHECK(!stalled->next_event(500ms));
  CHECK(stalled->body().size() == std::string("id: 1\nevent: message\ndata: event 1\n\n").size());
  CHECK(metric(bridge().port(), "ssebridge_clients_connected") == before + 1);
  stalled->close();
  CHECK(
      eventually([&] { return metric(bridge().port(), "ssebridge_clients_connected") == before; }));
}

TEST_CASE("/faults/status answers the status asked for", "[bridge][faults]") {
  for (int code : {204, 301, 401, 404, 500, 503}) {
    SseSocket s(bridge().port(), "/faults/status?code=" + std::to_string(code));
    CHECK(s.status() == code);
  }
  SseSocket with_retry(bridge().port(), "/faults/status?code=503&retry_after=7");
  CHECK(with_retry.status() == 503);
  CHECK(with_retry.header("Retry-After") == "7");
  SseSocket bad(bridge().port(), "/faults/status?code=99");
  CHECK(bad.status() == 400);
}

TEST_CASE("/faults/content-type serves an event stream under the wrong type", "[bridge][faults]") {
  SseSocket plain(bridge().port(), "/faults/content-type");
  CHECK(plain.status() == 200);
  CHECK(plain.header("Content-Type").find("text/plain") == 0);
  CHECK(plain.wait_closed(5s));
  CHECK(plain.body().find("data: served as text/plain") != std::string::npos);

  SseSocket json(bridge().port(), "/faults/content-type?type=application/json");
  CHECK(json.header("Content-Type").find("application/json") == 0);
  SseSocket none(bridge().port(), "/faults/content-type?type=none");
  CHECK(none.header("Content-Type").empty());
}

TEST_CASE("/faults/drip sends one byte per chunk", "[bridge][faults]") {
  SseSocket drip(bridge().port(), "/faults/drip?events=2&interval_ms=1");
  const auto events = drip.events(2, 10s);
  REQUIRE(events.size() == 2);
  CHECK(events[1].data == "event 2");
  CHECK(drip.wait_closed(5s));
  const auto& sizes = drip.chunk_sizes();
  CHECK(sizes.size() == drip.body().size());
  CHECK(std::all_of(sizes.begin(), sizes.end(), [](size_t n) { return n == 1; }));
}

TEST_CASE("/faults/retry sends retry: then events, then ends", "[bridge][faults]") {
  SseSocket s(bridge().port(), "/faults/retry?ms=4321&events=2");
  CHECK(s.events(2, 5s).size() == 2);
  CHECK(s.retry() == 4321);
  CHECK(s.wait_closed(5s));
  CHECK(s.body().rfind("retry: 4321\n\n", 0) == 0);
}

TEST_CASE("/faults/redirect redirects, through several hops, to a path of this server",
          "[bridge][faults]") {
  SseSocket one(bridge().port(), "/faults/redirect?to=/faults/close&code=302");
  CHECK(one.status() == 302);
  CHECK(one.header("Location") == "/faults/close");

  SseSocket hops(bridge().port(), "/faults/redirect?hops=3&to=/demo/ticks");
  CHECK(hops.status() == 307);
  const std::string next = hops.header("Location");
  CHECK(next.find("hops=2") != std::string::npos);
  SseSocket second(bridge().port(), next);
  CHECK(second.header("Location").find("hops=1") != std::string::npos);

  SseSocket elsewhere(bridge().port(), "/faults/redirect?to=//evil.example/");
  CHECK(elsewhere.status() == 400);
}

TEST_CASE("/faults/huge sends one event of the size asked for, then a normal one",
          "[bridge][faults]") {
  SseSocket one_line(bridge().port(), "/faults/huge?bytes=3000000");
  const auto events = one_line.events(2, 20s);
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == "huge");
  CHECK(events[0].data == std::string(3000000, 'x'));
  CHECK(events[1].data == "end");

  SseSocket lines(bridge().port(), "/faults/huge?bytes=10&line_bytes=4");
  const auto split = lines.events(1, 5s);
  REQUIRE(split.size() == 1);
  CHECK(split[0].data == "xxxx\nxxxx\nxx");
}

TEST_CASE("/faults/invalid-utf8 sends the bytes documented, unrepaired", "[bridge][faults]") {
  SseSocket s(bridge().port(), "/faults/invalid-utf8");
  const auto events = s.events(4, 5s);
  REQUIRE(events.size() == 4);
  CHECK(events[0].data == "before \xFF\xFE after");
  CHECK(events[1].data == "cut \xE2\x82");
  CHECK(events[2].data == "overlong \xC0\xAF");
  CHECK(events[3].data == "valid \xE2\x82\xAC");
}

TEST_CASE("/faults/heartbeat sends comments only", "[bridge][faults]") {
  SseSocket s(bridge().port(), "/faults/heartbeat?interval_ms=20&count=5");
  CHECK(!s.next_event(3s));
  CHECK(s.wait_closed(3s));
  CHECK(s.comments() == 5);
  std::string expected;
  for (int i = 0; i < 5; ++i)
    expected += ": heartbeat\n\n";
  CHECK(s.body() == expected);
}

TEST_CASE("GET /faults lists every fault", "[bridge][faults]") {
  httplib::Client http("127.0.0.1", bridge().port());
  const auto res = http.Get("/faults");
  REQUIRE(res);
  for (const char* name : {"close", "stall", "status", "content-type", "drip", "retry", "redirect",
                           "huge", "invalid-utf8", "heartbeat"}) {
    CHECK(res->body.find(std::string("/faults/") + name) != std::string::npos);
  }
}
