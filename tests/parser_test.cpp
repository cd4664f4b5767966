// Unit tests of EventParser, one rule of the WHATWG event-stream interpretation per case.
#include <catch2/catch.hpp>

#include <string>

#include "parser_support.hpp"

using ssekit::ErrorCode;
using ssekit::Event;
using ssekit::EventParser;
using ssekit::ParserLimits;
using ssekit::test::make_event;
using ssekit::test::parse_split;
using ssekit::test::parse_whole;
using ssekit::test::Recorder;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace Catch {
template <>
struct StringMaker<Event> {
  static std::string convert(const Event& e) {
    return "{type=" + ::Catch::Detail::stringify(e.type) +
           " data=" + ::Catch::Detail::stringify(e.data) +
           " id=" + ::Catch::Detail::stringify(e.id) + "}";
  }
};
}  // namespace Catch

TEST_CASE("data lines are joined with LF and the final LF is removed", "[parser]") {
  auto r = parse_whole("data: first\ndata: second\ndata: third\n\n");
  REQUIRE(r.events == std::vector<Event>{make_event("first\nsecond\nthird")});
}

TEST_CASE("exactly one leading space is removed from a value", "[parser]") {
  SECTION("one space") {
    CHECK(parse_whole("data: x\n\n").events[0].data == "x");
  }
  SECTION("no space") {
    CHECK(parse_whole("data:x\n\n").events[0].data == "x");
  }
  SECTION("two spaces keep one") {
    CHECK(parse_whole("data:  x\n\n").events[0].data == " x");
  }
  SECTION("a tab is not a space") {
    CHECK(parse_whole("data:\tx\n\n").events[0].data == "\tx");
  }
  SECTION("trailing spaces are kept") {
    CHECK(parse_whole("data: x \n\n").events[0].data == "x ");
  }
  SECTION("the event type too") {
    CHECK(parse_whole("event:  spaced\ndata: x\n\n").events[0].type == " spaced");
  }
}

TEST_CASE("lines end with LF, CR or CRLF in any mix", "[parser]") {
  const auto expected = std::vector<Event>{make_event("a\nb\nc"), make_event("d")};
  CHECK(parse_whole("data: a\ndata: b\ndata: c\n\ndata: d\n\n").events == expected);
  CHECK(parse_whole("data: a\rdata: b\rdata: c\r\rdata: d\r\r").events == expected);
  CHECK(parse_whole("data: a\r\ndata: b\r\ndata: c\r\n\r\ndata: d\r\n\r\n").events == expected);
  CHECK(parse_whole("data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r").events == expected);
}

TEST_CASE("CR at the end of one read and LF at the start of the next is one line end", "[parser]") {
  EventParser parser;
  Recorder r;
  parser.feed("data: a\r", r);
  parser.feed("\ndata: b\r", r);
  parser.feed("\n\r", r);
  parser.feed("\n", r);
  REQUIRE(r.events == std::vector<Event>{make_event("a\nb")});

  SECTION("a CR whose LF never comes still ends the line at once") {
    EventParser cr_only;
    Recorder seen;
    cr_only.feed("data: now\r\r", seen);
    CHECK(seen.events == std::vector<Event>{make_event("now")});
  }
}

TEST_CASE("CR CR is two line ends, and LF CR is two", "[parser]") {
  CHECK(parse_whole("data: a\r\rdata: b\n\r").events.size() == 2);
  CHECK(parse_whole("data: a\n\rdata: b\r\n\n").events.size() == 2);
}

TEST_CASE("nothing but CR and LF ends a line", "[parser]") {
  // U+2028, U+2029, U+0085, form feed and vertical tab are data (JSON strings carry them).
  const std::string separators =
      "a\xE2\x80\xA8"
      "b\xE2\x80\xA9"
      "c\xC2\x85"
      "d\f"
      "e\v"
      "f";
  auto r = parse_whole("data: " + separators + "\n\n");
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].data == separators);
}

TEST_CASE("event sets the type of one event and resets after dispatch", "[parser]") {
  auto r = parse_whole("event: add\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n");
  REQUIRE(r.events == std::vector<Event>{make_event("1", "add"), make_event("2"), make_event("3")});

  SECTION("a type whose event had no data does not leak into the next") {
    auto s = parse_whole("event: lost\n\ndata: x\n\n");
    CHECK(s.events == std::vector<Event>{make_event("x")});
  }
}

TEST_CASE("id persists across events, an empty id resets it", "[parser]") {
  auto r = parse_whole("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\ndata: d\n\n");
  REQUIRE(r.events == std::vector<Event>{make_event("a", "message", "1"),
                                         make_event("b", "message", "1"), make_event("c"),
                                         make_event("d", "message", "2")});
}

TEST_CASE("an id containing NUL is ignored", "[parser]") {
  auto r = parse_whole("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"s);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[1].id == "1");
}

TEST_CASE("an id with no data still moves the last event ID", "[parser]") {
  EventParser parser;
  Recorder r;
  parser.feed("id: 5\n\n", r);
  CHECK(r.events.empty());
  CHECK(parser.last_event_id() == "5");
  parser.feed("data: x\n\n", r);
  CHECK(r.events == std::vector<Event>{make_event("x", "message", "5")});
}

TEST_CASE("the last event ID counts only dispatched events", "[parser]") {
  EventParser parser;
  Recorder r;
  parser.feed("id: 1\ndata: a\n\nid: 2\ndata: b\n", r);
  CHECK(parser.last_event_id() == "1");

  SECTION("a reconnect drops the unfinished event and resumes from the dispatched id") {
    parser.reset();
    parser.feed("data: c\n\n", r);
    CHECK(r.events.back() == make_event("c", "message", "1"));
  }
}

TEST_CASE("retry takes ASCII digits only", "[parser]") {
  auto r = parse_whole(
      "retry: 1500\nretry: 1.5\nretry: -1\nretry:  10\nretry: 10x\nretry:\nretry: 0\n"
      "retry: \xD9\xA3\n");  // ARABIC-INDIC DIGIT THREE is not an ASCII digit
  CHECK(r.retries == std::vector<std::chrono::milliseconds>{1500ms, 0ms});
  CHECK(r.events.empty());

  SECTION("a huge value saturates instead of wrapping") {
    auto big = parse_whole("retry: 99999999999999999999999999\n");
    REQUIRE(big.retries.size() == 1);
    CHECK(big.retries[0] > 1000000000ms);
  }
}

TEST_CASE("comments are reported without the colon and dispatch nothing", "[parser]") {
  auto r = parse_whole(":heartbeat\n: with space\n:\ndata: x\n\n");
  CHECK(r.comments == std::vector<std::string>{"heartbeat", " with space", ""});
  CHECK(r.events == std::vector<Event>{make_event("x")});
}

TEST_CASE("unknown fields are ignored", "[parser]") {
  auto r = parse_whole("colour: blue\nData: no\nDATA: no\n data: no\ndata: yes\n\n");
  CHECK(r.events == std::vector<Event>{make_event("yes")});
}

TEST_CASE("a field with no colon has an empty value", "[parser]") {
  auto r = parse_whole("data\n\ndata\ndata\n\nevent\ndata: x\n\n");
  CHECK(r.events == std::vector<Event>{make_event(""), make_event("\n"), make_event("x")});
}

TEST_CASE("an event with an empty data buffer is not dispatched", "[parser]") {
  CHECK(parse_whole("\n\n\nevent: x\n\nid: 1\n\n:c\n\n").events.empty());
  SECTION("but data: with an empty value is an event with empty data") {
    CHECK(parse_whole("data:\n\n").events == std::vector<Event>{make_event("")});
  }
}

TEST_CASE("a partial event at the end of the stream is dropped", "[parser]") {
  EventParser parser;
  Recorder r;
  parser.feed("data: done\n\ndata: partial\n", r);
  parser.reset();  // what the client does when the connection ends
  parser.feed("data: next\n\n", r);
  CHECK(r.events == std::vector<Event>{make_event("done"), make_event("next")});
}

TEST_CASE("a field value may contain colons", "[parser]") {
  auto r = parse_whole("data: a: b:c\n\n");
  CHECK(r.events[0].data == "a: b:c");
}

TEST_CASE("one leading BOM is stripped, and only one", "[parser]") {
  const std::string bom = "\xEF\xBB\xBF";
  CHECK(parse_whole(bom + "data: x\n\n").events == std::vector<Event>{make_event("x")});

  SECTION("a second BOM makes the first field name unknown") {
    CHECK(parse_whole(bom + bom + "data: x\n\n").events.empty());
  }
  SECTION("a BOM after the start is not stripped") {
    CHECK(parse_whole("data: a\n\n" + bom + "data: b\n\n").events ==
          std::vector<Event>{make_event("a")});
  }
  SECTION("a BOM split across reads is still one BOM") {
    auto r = parse_split(bom + "data: x\n\n", {1, 2});
    CHECK(r.events == std::vector<Event>{make_event("x")});
  }
  SECTION("a BOM inside a value is data") {
    CHECK(parse_whole("data: " + bom + "x\n\n").events[0].data == bom + "x");
  }
  SECTION("each new stream may start with a BOM again") {
    EventParser parser;
    Recorder r;
    parser.feed(bom + "data: a\n\n", r);
    parser.reset();
    parser.feed(bom + "data: b\n\n", r);
    CHECK(r.events == std::vector<Event>{make_event("a"), make_event("b")});
  }
}

TEST_CASE("invalid UTF-8 becomes U+FFFD, one per maximal invalid subpart", "[parser][utf8]") {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string bytes;
    std::string decoded;
  };
  const Case cases[] = {
      {"\x80", fffd},                                   // lone continuation byte
      {"\xC3", fffd},                                   // truncated two-byte sequence
      {"\xC0\xAF", fffd + fffd},                        // overlong: C0 can never start a sequence
      {"\xE2\x82", fffd},                               // truncated three-byte sequence: one U+FFFD
      {"\xE2\x82x", fffd + "x"},                        // broken by ASCII, which is kept
      {"\xED\xA0\x80", fffd + fffd + fffd},             // surrogate: ED A0 is not a valid prefix
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // past U+10FFFF
      {"\xF0\x9F\x98", fffd},                           // truncated four-byte sequence
      {"\xFF", fffd},                                   // never valid
      {"a\xE2\x82\xACz", "a\xE2\x82\xACz"},             // valid euro sign untouched
  };
  for (const auto& c : cases) {
    CAPTURE(c.bytes);
    auto r = parse_whole("data: " + c.bytes + "\n\n");
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].data == c.decoded);
  }

  SECTION("in field names and ids too") {
    auto r = parse_whole("id: \xFF\ndata: x\n\n");
    CHECK(r.events[0].id == fffd);
  }
}

TEST_CASE("a multi-byte character split across two reads decodes whole", "[parser][utf8]") {
  const std::string text = "data: \xE2\x82\xAC\xF0\x9F\x98\x80\xE8\xB1\x86\n\n";  // euro, emoji, 豆
  for (std::size_t cut = 1; cut < text.size(); ++cut) {
    CAPTURE(cut);
    auto r = parse_split(text, {cut});
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].data == "\xE2\x82\xAC\xF0\x9F\x98\x80\xE8\xB1\x86");
  }
}

TEST_CASE("a truncated sequence before the line end is one U+FFFD, not the LF", "[parser][utf8]") {
  auto r = parse_split("data: \xE2\x82\ndata: y\n\n", {8});
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].data == "\xEF\xBF\xBD\ny");
}

TEST_CASE("one byte at a time yields the same events as one read", "[parser]") {
  const std::string stream =
      "\xEF\xBB\xBF:hi\r\nid: 1\revent: e\ndata: \xE2\x82\xAC\r\n\r\ndata: 2\n\nretry: 7\n"
      "data: \xFF\r\r";
  const auto whole = parse_whole(stream);
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < stream.size(); ++i)
    every_byte.push_back(i);
  const auto split = parse_split(stream, every_byte);

  CHECK(split.events == whole.events);
  CHECK(split.comments == whole.comments);
  CHECK(split.retries == whole.retries);
  CHECK(whole.events.size() == 3);
}

TEST_CASE("a line past max_line_bytes is an error and is dropped with its event", "[parser]") {
  ParserLimits limits;
  limits.max_line_bytes = 16;
  const std::string stream = "data: 0123456789abcdef\ndata: ok\n\ndata: next\n\n";

  SECTION("in one read") {
    auto r = parse_whole(stream, limits);
    CHECK(r.errors == std::vector<ErrorCode>{ErrorCode::line_too_long});
    CHECK(r.events == std::vector<Event>{make_event("next")});
  }
  SECTION("across many reads, holding no more than the limit") {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < stream.size(); ++i)
      cuts.push_back(i);
    auto r = parse_split(stream, cuts, limits);
    CHECK(r.errors == std::vector<ErrorCode>{ErrorCode::line_too_long});
    CHECK(r.events == std::vector<Event>{make_event("next")});
  }
  SECTION("a line exactly at the limit is kept") {
    auto r = parse_whole("data: 0123456789\n\n", limits);
    CHECK(r.errors.empty());
    CHECK(r.events == std::vector<Event>{make_event("0123456789")});
  }
}

TEST_CASE("an endless line costs no more than the line limit", "[parser]") {
  ParserLimits limits;
  limits.max_line_bytes = 1024;
  EventParser parser(limits);
  Recorder r;
  const std::string block(4096, 'x');
  for (int i = 0; i < 1000; ++i)
    parser.feed(block, r);  // 4 MB without a line end
  parser.feed("\ndata: same event, dropped\n\ndata: after\n\n", r);
  CHECK(r.errors == std::vector<ErrorCode>{ErrorCode::line_too_long});
  CHECK(r.events == std::vector<Event>{make_event("after")});
}

TEST_CASE("an event past max_event_bytes is an error and is dropped", "[parser]") {
  ParserLimits limits;
  limits.max_event_bytes = 10;
  auto r = parse_whole("data: 12345\ndata: 67890\n\ndata: small\n\n", limits);
  CHECK(r.errors == std::vector<ErrorCode>{ErrorCode::event_too_large});
  CHECK(r.events == std::vector<Event>{make_event("small")});

  SECTION("the id of the dropped event still counts, so a reconnect does not replay it") {
    EventParser parser(limits);
    Recorder seen;
    parser.feed("id: 9\ndata: 12345\ndata: 67890\n\n", seen);
    CHECK(parser.last_event_id() == "9");
  }
}

TEST_CASE("set_last_event_id seeds the id of the following events", "[parser]") {
  EventParser parser;
  parser.set_last_event_id("41");
  Recorder r;
  parser.feed("data: x\n\n", r);
  CHECK(r.events == std::vector<Event>{make_event("x", "message", "41")});

  SECTION("an id with NUL is refused, as on the wire") {
    parser.set_last_event_id("a\0b"s);
    CHECK(parser.last_event_id() == "41");
  }
}

TEST_CASE("the spec's own examples parse as the spec says", "[parser][spec]") {
  SECTION("stock ticker: three data lines make one event") {
    auto r = parse_whole("data: YHOO\ndata: +2\ndata: 10\n\n");
    CHECK(r.events == std::vector<Event>{make_event("YHOO\n+2\n10")});
  }
  SECTION("comment, id and events") {
    auto r = parse_whole(
        ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
        "data:  third event\n\n");
    CHECK(r.events == std::vector<Event>{make_event("first event", "message", "1"),
                                         make_event("second event"), make_event(" third event")});
  }
  SECTION("two events, the last without a blank line, give one") {
    auto r = parse_whole("data\n\ndata\ndata\n\ndata:");
    CHECK(r.events == std::vector<Event>{make_event(""), make_event("\n")});
  }
  SECTION("a leading space after the colon is removed once") {
    auto r = parse_whole("data:test\n\ndata: test\n\n");
    CHECK(r.events == std::vector<Event>{make_event("test"), make_event("test")});
  }
}
