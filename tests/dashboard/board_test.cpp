// Unit tests of the dashboard sample's pure parts: the sparkline and the Board that callbacks
// record into. The terminal side is covered by dashboard_tmux_test.py.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "board.hpp"
#include "sparkline.hpp"

using dashboard::Board;
using dashboard::Glyphs;
using dashboard::render_sparkline;
using dashboard::Sample;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A fixed instant: the tests never read the real clock.
const Clock::time_point kNow = Clock::time_point(1000s);

ssekit::Event tick(const std::string& id, const std::string& data, std::string type = "tick") {
  ssekit::Event event;
  event.type = std::move(type);
  event.id = id;
  event.data = data;
  return event;
}

}  // namespace

TEST_CASE("a sparkline has one column per slice of the window", "[dashboard]") {
  SECTION("no samples draw an empty line of the full width") {
    CHECK(render_sparkline({}, kNow, 60s, 10, Glyphs::ascii) == std::string(10, ' '));
  }
  SECTION("the lowest value is the lowest glyph and the highest the highest") {
    const std::vector<Sample> samples = {{kNow - 55s, 1.0}, {kNow - 5s, 9.0}};
    CHECK(render_sparkline(samples, kNow, 60s, 6, Glyphs::ascii) == "_    @");
  }
  SECTION("a flat series sits in the middle") {
    const std::vector<Sample> samples = {{kNow - 40s, 4.0}, {kNow - 1s, 4.0}};
    CHECK(render_sparkline(samples, kNow, 60s, 2, Glyphs::ascii) == "==");
  }
  SECTION("samples older than the window or in the future are ignored") {
    const std::vector<Sample> samples = {{kNow - 61s, 100.0}, {kNow + 1s, -100.0}};
    CHECK(render_sparkline(samples, kNow, 60s, 4, Glyphs::ascii) == "    ");
  }
  SECTION("the last sample of a slice wins") {
    const std::vector<Sample> samples = {{kNow - 50s, 1.0}, {kNow - 40s, 0.0}, {kNow - 2s, 1.0}};
    CHECK(render_sparkline(samples, kNow, 60s, 2, Glyphs::ascii) == "_@");
  }
  SECTION("Unicode glyphs are the block elements, three bytes each") {
    const std::vector<Sample> samples = {{kNow - 50s, 0.0}, {kNow - 5s, 1.0}};
    CHECK(render_sparkline(samples, kNow, 60s, 2, Glyphs::unicode) == "\u2581\u2588");
  }
  SECTION("a zero width or window draws nothing") {
    CHECK(render_sparkline({{kNow, 1.0}}, kNow, 60s, 0, Glyphs::ascii).empty());
    CHECK(render_sparkline({{kNow, 1.0}}, kNow, 0s, 5, Glyphs::ascii).empty());
  }
}

TEST_CASE("the board keeps the last event's fields and charts one of them", "[dashboard]") {
  Board board("value", 60s);
  board.record_event(tick("1", R"({"n":1,"value":40.5,"label":"a"})"), kNow - 2s);
  board.record_event(tick("2", R"({"n":2,"value":41.25,"label":"b"})"), kNow - 1s);
  const auto snapshot = board.snapshot(kNow);

  CHECK(snapshot.events == 2);
  CHECK(snapshot.last_event_id == "2");
  CHECK(snapshot.event_type == "tick");
  REQUIRE(snapshot.fields.size() == 3);
  CHECK(snapshot.fields[0] == std::make_pair(std::string("n"), std::string("2")));
  CHECK(snapshot.fields[1] == std::make_pair(std::string("value"), std::string("41.25")));
  CHECK(snapshot.fields[2] == std::make_pair(std::string("label"), std::string("b")));
  REQUIRE(snapshot.history.size() == 2);
  CHECK(snapshot.history[1].value == 41.25);
}

TEST_CASE("data that is not a JSON object is shown as it came", "[dashboard]") {
  Board board("value", 60s);
  board.record_event(tick("", "plain text"), kNow);
  const auto snapshot = board.snapshot(kNow);
  REQUIRE(snapshot.fields.size() == 1);
  CHECK(snapshot.fields[0].second == "plain text");
  CHECK(snapshot.history.empty());
}

TEST_CASE("samples older than the window leave the board", "[dashboard]") {
  Board board("value", 60s);
  board.record_event(tick("1", R"({"value":1})"), kNow - 90s);
  board.record_event(tick("2", R"({"value":2})"), kNow - 10s);
  const auto snapshot = board.snapshot(kNow);
  REQUIRE(snapshot.history.size() == 1);
  CHECK(snapshot.history[0].value == 2);
}

TEST_CASE("missed ids count the gaps between numeric ids", "[dashboard]") {
  Board board("value", 60s);
  SECTION("consecutive ids miss nothing") {
    for (const char* id : {"7", "8", "9"})
      board.record_event(tick(id, "{}"), kNow);
    CHECK(board.snapshot(kNow).missed == 0);
  }
  SECTION("a jump from 4 to 7 misses two") {
    board.record_event(tick("4", "{}"), kNow);
    board.record_event(tick("7", "{}"), kNow);
    CHECK(board.snapshot(kNow).missed == 2);
  }
  SECTION("a jump the server announced with a reset event is not a gap") {
    board.record_event(tick("4", "{}"), kNow);
    board.record_event(tick("90", R"({"reason":"unknown-id"})", "reset"), kNow);
    board.record_event(tick("91", "{}"), kNow);
    const auto snapshot = board.snapshot(kNow);
    CHECK(snapshot.missed == 0);
    CHECK(snapshot.notice.find("reset the stream at id 90") != std::string::npos);
  }
  SECTION("ids that are not numbers are not compared") {
    board.record_event(tick("a", "{}"), kNow);
    board.record_event(tick("c", "{}"), kNow);
    CHECK(board.snapshot(kNow).missed == 0);
  }
}

TEST_CASE("state changes give the countdown's deadline and the failure flag", "[dashboard]") {
  Board board("value", 60s);
  ssekit::StateChange waiting;
  waiting.state = ssekit::State::waiting;
  waiting.delay = 2500ms;
  waiting.attempt = 3;
  waiting.reason = ssekit::Error{ssekit::ErrorCode::network, 0, 7, "connection refused"};
  board.record_state(waiting, kNow);

  auto snapshot = board.snapshot(kNow);
  CHECK(snapshot.state == ssekit::State::waiting);
  CHECK(snapshot.retry_at == kNow + 2500ms);
  CHECK(snapshot.attempt == 3);
  CHECK(snapshot.reason == "connection refused");
  CHECK(snapshot.reconnects == 1);
  CHECK_FALSE(snapshot.failed);

  SECTION("closing on an error is a failure") {
    ssekit::StateChange closed;
    closed.state = ssekit::State::closed;
    closed.reason = ssekit::Error{ssekit::ErrorCode::http_status, 404, 0, "HTTP 404"};
    board.record_state(closed, kNow);
    CHECK(board.snapshot(kNow).failed);
  }
  SECTION("closing because the app or the server asked is not") {
    ssekit::StateChange closed;
    closed.state = ssekit::State::closed;
    closed.reason = ssekit::Error{ssekit::ErrorCode::server_closed, 204, 0, "HTTP 204"};
    board.record_state(closed, kNow);
    CHECK_FALSE(board.snapshot(kNow).failed);
  }
}
