#include "demo.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

namespace ssebridge {
namespace {

// An hour of ticks at the default interval: a viewer away that long still resumes.
constexpr size_t kDemoHistory = 3600;
// The random walk starts mid-range and is reflected at the bounds, so the chart stays lively.
constexpr double kWalkStart = 50.0;
constexpr double kWalkMin = 0.0;
constexpr double kWalkMax = 100.0;
constexpr double kWalkStep = 2.0;

MemoryStoreOptions demo_store_options() {
  MemoryStoreOptions options;
  options.max_events = kDemoHistory;
  return options;
}

}  // namespace

DemoTicker::DemoTicker(std::chrono::milliseconds interval)
    : interval_(interval), store_(demo_store_options()) {}

DemoTicker::~DemoTicker() {
  stop();
}

void DemoTicker::start() {
  thread_ = std::thread([this] { run(); });
}

void DemoTicker::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  store_.stop();
}

void DemoTicker::run() {
  std::mt19937_64 random{std::random_device{}()};
  std::normal_distribution<double> step(0.0, kWalkStep);
  double value = kWalkStart;
  auto next = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  for (std::int64_t n = 1;; ++n) {
    value += step(random);
    if (value < kWalkMin) value = 2 * kWalkMin - value;
    if (value > kWalkMax) value = 2 * kWalkMax - value;
    value = std::clamp(value, kWalkMin, kWalkMax);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    char data[128];
    std::snprintf(data, sizeof data, "{\"n\":%lld,\"value\":%.2f,\"time\":%lld}",
                  static_cast<long long>(n), value, static_cast<long long>(millis));
    store_.publish(kChannel, "tick", data);

    next += interval_;
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
  }
}

}  // namespace ssebridge
