// delivery_check.cpp: the per-consumer exactly-once accounting.
#include "soak/delivery_check.hpp"

#include <algorithm>
#include <charconv>

namespace ssekit::soak {
namespace {

// Anomalies described in the report per consumer; the counts cover the rest.
constexpr std::size_t kAnomaliesKept = 5;
// A jump past this many numbers is not a gap but a number the publisher never made (the soak
// publishes tens of thousands): it is counted as foreign instead of filling the missing set.
constexpr std::int64_t kLargestGap = 1'000'000;

}  // namespace

std::int64_t sequence_of(const std::string& data) {
  static const std::string kPrefix = "{\"seq\":";
  if (data.rfind(kPrefix, 0) != 0 || data.size() < kPrefix.size() + 2 || data.back() != '}') {
    return -1;
  }
  std::int64_t value = -1;
  const char* first = data.data() + kPrefix.size();
  const char* last = data.data() + data.size() - 1;
  const auto [end, error] = std::from_chars(first, last, value);
  if (error != std::errc() || end != last || value < 0) return -1;
  return value;
}

DeliveryCheck::DeliveryCheck(std::string consumer) {
  figures_.consumer = std::move(consumer);
}

void DeliveryCheck::note(const std::string& anomaly) {
  if (figures_.first_anomalies.size() < kAnomaliesKept) figures_.first_anomalies.push_back(anomaly);
}

void DeliveryCheck::record(const std::string& type, const std::string& data,
                           const std::string& id) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex_);

  ++figures_.delivered;
  if (last_delivery_ != std::chrono::steady_clock::time_point{}) {
    const auto silence =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - last_delivery_);
    figures_.longest_silence = std::max(figures_.longest_silence, silence);
  }
  last_delivery_ = now;

  const std::int64_t seq = sequence_of(data);
  if (type != "tick" || seq <= 0 || seq > next_ + kLargestGap) {
    ++figures_.foreign;
    note("foreign event type=" + type + " id=" + id + " data=" + data.substr(0, 80));
    return;
  }

  // Ids are the bridge's: they must rise with every event, across reconnects and restarts.
  std::uint64_t numeric_id = 0;
  const auto parsed = std::from_chars(id.data(), id.data() + id.size(), numeric_id);
  if (parsed.ec != std::errc() || parsed.ptr != id.data() + id.size() || numeric_id <= last_id_) {
    ++figures_.id_regressions;
    note("id " + id + " after id " + std::to_string(last_id_) + " (seq " + std::to_string(seq) +
         ")");
  } else {
    last_id_ = numeric_id;
  }

  if (seq == next_) {
    ++next_;
  } else if (seq > next_) {
    for (std::int64_t skipped = next_; skipped < seq; ++skipped)
      missing_.insert(skipped);
    note("seq " + std::to_string(seq) + " while " + std::to_string(next_) + " was due");
    next_ = seq + 1;
  } else if (missing_.erase(seq) == 1) {
    ++figures_.reordered;
    note("seq " + std::to_string(seq) + " after a higher one");
  } else {
    ++figures_.duplicated;
    note("seq " + std::to_string(seq) + " again (id " + id + ")");
  }
}

std::int64_t DeliveryCheck::delivered_through() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return missing_.empty() ? next_ - 1 : *missing_.begin() - 1;
}

DeliveryFigures DeliveryCheck::figures(std::int64_t published) const {
  std::lock_guard<std::mutex> lock(mutex_);
  DeliveryFigures out = figures_;
  const auto missing_published = static_cast<std::uint64_t>(std::count_if(
      missing_.begin(), missing_.end(), [&](std::int64_t seq) { return seq <= published; }));
  const std::int64_t never_reached = std::max<std::int64_t>(0, published - (next_ - 1));
  out.lost = missing_published + static_cast<std::uint64_t>(never_reached);
  return out;
}

}  // namespace ssekit::soak
