// Property test: random event streams, cut at random places, give the same events as one read.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "parser_support.hpp"

using ssekit::Event;
using ssekit::test::parse_split;
using ssekit::test::parse_whole;

namespace {

// Pieces a stream is made of, chosen to hit the parser's edges: every line ending, BOMs,
// comments, empty values, no colon, multi-byte and invalid UTF-8, NUL, retry values.
const char* const kFragments[] = {
    "data: ",
    "data:",
    "data",
    "event: ",
    "event:",
    "id: ",
    "id:",
    "id",
    "retry: ",
    ":",
    " ",
    "x",
    "hello",
    "42",
    "\n",
    "\r",
    "\r\n",
    "\n\n",
    "\r\r",
    "\r\n\r\n",
    "\xEF\xBB\xBF",
    "\xE2\x82\xAC",
    "\xF0\x9F\x98\x80",
    "\xE2\x82",
    "\xFF",
    "\x80",
    std::string_view("\0", 1).data(),
    "\xE2\x80\xA8",
    "\f",
    "\v",
    "{\"k\":1}",
    "unknown: v",
};

std::string random_stream(std::mt19937& random, std::size_t pieces) {
  std::uniform_int_distribution<std::size_t> pick(0, std::size(kFragments) - 1);
  std::string stream;
  for (std::size_t i = 0; i < pieces; ++i) {
    const std::size_t index = pick(random);
    // The NUL fragment is one byte that a C string cannot hold: append it by length.
    if (kFragments[index][0] == '\0') {
      stream.push_back('\0');
    } else {
      stream += kFragments[index];
    }
  }
  return stream;
}

std::vector<std::size_t> random_cuts(std::mt19937& random, std::size_t size) {
  std::vector<std::size_t> cuts;
  if (size < 2) return cuts;
  std::uniform_int_distribution<std::size_t> step(1, 9);
  for (std::size_t at = step(random); at < size; at += step(random))
    cuts.push_back(at);
  return cuts;
}

}  // namespace

TEST_CASE("random streams cut at random places give the same events as one read",
          "[parser][property]") {
  constexpr int kStreams = 3000;  // enough to cover every pair of fragments many times
  std::mt19937 random(20261203);  // fixed seed: a failure reproduces
  std::uniform_int_distribution<std::size_t> length(1, 120);

  for (int i = 0; i < kStreams; ++i) {
    const std::string stream = random_stream(random, length(random));
    const auto cuts = random_cuts(random, stream.size());
    CAPTURE(i, stream);

    const auto whole = parse_whole(stream);
    const auto split = parse_split(stream, cuts);
    REQUIRE(split.events == whole.events);
    REQUIRE(split.comments == whole.comments);
    REQUIRE(split.retries == whole.retries);

    // Whatever the bytes, what comes out is valid UTF-8 (U+FFFD took the place of the rest).
    for (const Event& event : whole.events) {
      CHECK(event.data.find('\r') == std::string::npos);
    }
  }
}
