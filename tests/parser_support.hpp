// parser_support.hpp: a Handler that records everything the parser reports, for tests.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "ssekit/parser.hpp"

namespace ssekit::test {

struct Recorder : EventParser::Handler {
  std::vector<Event> events;
  std::vector<std::string> comments;
  std::vector<std::chrono::milliseconds> retries;
  std::vector<ErrorCode> errors;

  void on_event(const Event& event) override { events.push_back(event); }
  void on_comment(std::string_view text) override { comments.emplace_back(text); }
  void on_retry(std::chrono::milliseconds delay) override { retries.push_back(delay); }
  void on_error(const Error& error) override { errors.push_back(error.code); }
};

/// Feeds `stream` in one piece to a fresh parser and returns what it reported.
inline Recorder parse_whole(std::string_view stream, ParserLimits limits = {}) {
  EventParser parser(limits);
  Recorder recorder;
  parser.feed(stream, recorder);
  return recorder;
}

/// Feeds `stream` split at the given cut points (ascending offsets).
inline Recorder parse_split(std::string_view stream, const std::vector<std::size_t>& cuts,
                            ParserLimits limits = {}) {
  EventParser parser(limits);
  Recorder recorder;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    parser.feed(stream.substr(from, cut - from), recorder);
    from = cut;
  }
  parser.feed(stream.substr(from), recorder);
  return recorder;
}

inline Event make_event(std::string data, std::string type = "message", std::string id = "") {
  Event event;
  event.type = std::move(type);
  event.data = std::move(data);
  event.id = std::move(id);
  return event;
}

}  // namespace ssekit::test
