// parser_fuzz: arbitrary bytes, cut at arbitrary places, must give the parser no crash, no
// growth past its limits, only valid UTF-8 out, and the same events as one uncut read.
//
// Input layout: byte 0 seeds the cut positions, the rest is the stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ssekit/parser.hpp"
#include "utf8.hpp"

namespace {

// Small limits so the fuzzer reaches them with short inputs.
constexpr std::size_t kMaxLine = 64;
constexpr std::size_t kMaxEvent = 256;

struct Record : ssekit::EventParser::Handler {
  std::vector<ssekit::Event> events;
  std::vector<std::string> comments;
  std::vector<long long> retries;
  std::size_t errors = 0;

  void on_event(const ssekit::Event& event) override { events.push_back(event); }
  void on_comment(std::string_view text) override { comments.emplace_back(text); }
  void on_retry(std::chrono::milliseconds delay) override { retries.push_back(delay.count()); }
  void on_error(const ssekit::Error&) override { ++errors; }
};

void require(bool condition) {
  if (!condition) std::abort();
}

Record parse(std::string_view stream, unsigned seed) {
  ssekit::ParserLimits limits;
  limits.max_line_bytes = kMaxLine;
  limits.max_event_bytes = kMaxEvent;
  ssekit::EventParser parser(limits);
  Record record;

  // seed 0 feeds everything at once; otherwise cuts fall every 1..seed bytes, varied per cut.
  if (seed == 0) {
    parser.feed(stream, record);
    return record;
  }
  std::size_t at = 0;
  unsigned step = seed;
  while (at < stream.size()) {
    const std::size_t size = 1 + step % seed;
    parser.feed(stream.substr(at, size), record);
    at += size;
    step = step * 1103515245u + 12345u;
  }
  return record;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned seed = data[0] % 17;
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  const Record whole = parse(stream, 0);
  const Record split = parse(stream, seed);

  require(whole.events == split.events);
  require(whole.comments == split.comments);
  require(whole.retries == split.retries);
  require(whole.errors == split.errors);

  for (const ssekit::Event& event : whole.events) {
    require(event.data.size() <= kMaxEvent);
    // Limits count raw bytes; U+FFFD takes three bytes where one invalid byte stood.
    require(event.type.size() <= 3 * kMaxLine && event.id.size() <= 3 * kMaxLine);
    require(ssekit::detail::is_valid_utf8(event.data));
    require(ssekit::detail::is_valid_utf8(event.type));
    require(ssekit::detail::is_valid_utf8(event.id));
    require(event.id.find('\0') == std::string::npos);
    require(!event.type.empty());
  }
  return 0;
}
