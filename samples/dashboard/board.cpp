// board.cpp: turns events and state changes into what the screen shows.
#include "board.hpp"

#include <nlohmann/json.hpp>

namespace dashboard {
namespace {

// Longest text kept for one field: wider than any terminal line, small enough to copy often.
constexpr std::size_t kMaxFieldText = 200;

// The text a JSON value is shown as: strings without their quotes, everything else as JSON.
std::string field_text(const nlohmann::ordered_json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (text.size() > kMaxFieldText) text.resize(kMaxFieldText);
  return text;
}

// The id as a number, when it is one: servers that number their events (ssebridge does) let
// the dashboard check that a reconnect resumed without a gap.
std::optional<std::uint64_t> numeric_id(const std::string& id) {
  constexpr std::size_t kMaxDigits = 19;  // every 19-digit number fits in 64 bits
  constexpr std::uint64_t kBase = 10;
  if (id.empty() || id.size() > kMaxDigits) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : id) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * kBase + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

}  // namespace

Board::Board(std::string chart_field, std::chrono::steady_clock::duration window)
    : chart_field_(std::move(chart_field)), window_(window) {}

void Board::record_event(const ssekit::Event& event, std::chrono::steady_clock::time_point now) {
  // Parse outside the lock: the UI thread never waits on JSON.
  const auto json = nlohmann::ordered_json::parse(event.data, nullptr, /*allow_exceptions=*/false);
  std::vector<std::pair<std::string, std::string>> fields;
  bool has_sample = false;
  double sample = 0;
  if (json.is_object()) {
    for (const auto& [name, value] : json.items()) {
      fields.emplace_back(name, field_text(value));
      if (name == chart_field_ && value.is_number()) {
        has_sample = true;
        sample = value.get<double>();
      }
    }
  } else {
    fields.emplace_back("data", event.data.substr(0, kMaxFieldText));
  }

  const std::optional<std::uint64_t> id = numeric_id(event.id);

  std::lock_guard<std::mutex> lock(mutex_);
  current_.events += 1;
  current_.last_event_id = event.id;
  current_.event_type = event.type;
  if (id && numeric_id_ && *id > *numeric_id_ + 1 && event.type != "reset") {
    current_.missed += *id - *numeric_id_ - 1;
  }
  numeric_id_ = id;

  // A server that cannot resume from our Last-Event-ID says so with a `reset` event (ssebridge
  // does after a restart): show it, and keep the fields of the last real event.
  if (event.type == "reset") {
    current_.notice = "server reset the stream at id " + event.id + ": " + event.data;
    return;
  }
  current_.fields = std::move(fields);
  if (has_sample) history_.push_back(Sample{now, sample});
}

void Board::record_state(const ssekit::StateChange& change,
                         std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  current_.state = change.state;
  current_.attempt = change.attempt;
  current_.reason = change.reason ? change.reason.message : std::string();
  current_.retry_at = now + change.delay;
  if (change.state == ssekit::State::waiting) current_.reconnects += 1;
  if (change.state == ssekit::State::closed) {
    const auto code = change.reason.code;
    current_.failed = code != ssekit::ErrorCode::ok && code != ssekit::ErrorCode::closed_by_app &&
                      code != ssekit::ErrorCode::server_closed;
  }
}

Snapshot Board::snapshot(std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Forget what scrolled out of the window; the deque is ordered, so the front goes first.
  while (!history_.empty() && history_.front().at < now - window_)
    history_.pop_front();

  Snapshot copy = current_;
  copy.history.assign(history_.begin(), history_.end());
  return copy;
}

}  // namespace dashboard
