// fault_injector.cpp: doing each fault to the bridge, the database and the links.
#include "soak/fault_injector.hpp"

#include <stdexcept>
#include <thread>

namespace ssekit::soak {
namespace {

using std::chrono::milliseconds;

// A restarted bridge may find its port still held for a moment by the one that just died:
// it is started again this many times, this far apart, before the soak gives up.
constexpr int kBridgeStartAttempts = 20;
constexpr milliseconds kBridgeStartPause{100};
// How long a 503 burst or a slow drip lasts: long enough that every consumer meets it, short
// enough that a thousand faults fit in the soak's quarter of an hour.
constexpr milliseconds kShortestSpell{500};
constexpr milliseconds kLongestSpell{1500};

std::string duration_arg(milliseconds value) {
  return std::to_string(value.count()) + "ms";
}

}  // namespace

const char* to_string(FaultKind kind) {
  switch (kind) {
    case FaultKind::bridge_kill:
      return "bridge_kill";
    case FaultKind::postgres_restart:
      return "postgres_restart";
    case FaultKind::link_reset:
      return "link_reset";
    case FaultKind::link_stall:
      return "link_stall";
    case FaultKind::retry_change:
      return "retry_change";
    case FaultKind::burst_503:
      return "burst_503";
    case FaultKind::slow_drip:
      return "slow_drip";
    case FaultKind::link_cut:
      return "link_cut";
  }
  return "unknown";
}

FaultInjector::FaultInjector(test::PostgresCluster& cluster, BridgeSettings settings,
                             std::uint64_t seed)
    : cluster_(cluster),
      settings_(std::move(settings)),
      random_(seed),
      database_port_(cluster.port()) {
  if (settings_.retries.size() < 2) {
    throw std::invalid_argument("the soak needs two --retry values to change between");
  }
  retry_ms_.store(settings_.retries.front().count());
  start_bridge();
}

void FaultInjector::start_bridge() {
  const std::vector<std::string> args = {
      "--listen",    "127.0.0.1:" + std::to_string(port_),
      "--pg",        settings_.database_url,
      "--heartbeat", duration_arg(settings_.heartbeat),
      "--retry",     duration_arg(milliseconds(retry_ms_.load()))};
  std::string last_error;
  for (int attempt = 0; attempt < kBridgeStartAttempts; ++attempt) {
    try {
      bridge_ = std::make_unique<test::BridgeProcess>(args);
      port_ = bridge_->port();
      return;
    } catch (const std::exception& error) {
      last_error = error.what();
      std::this_thread::sleep_for(kBridgeStartPause);
    }
  }
  throw std::runtime_error("ssebridge did not come back on port " + std::to_string(port_) + ": " +
                           last_error);
}

// Ends the bridge (SIGKILL when `crash`, else SIGTERM, which ends its streams cleanly) and
// starts it again with `retry`. The new retry is recorded only once the old bridge is gone, so
// a stream that opens after the change was served by the new one.
void FaultInjector::restart_bridge(bool crash, milliseconds retry) {
  if (crash) {
    bridge_->kill();
  } else {
    bridge_->stop();
  }
  bridge_.reset();
  retry_ms_.store(retry.count());
  start_bridge();
}

milliseconds FaultInjector::random_duration(milliseconds low, milliseconds high) {
  return milliseconds(
      std::uniform_int_distribution<milliseconds::rep>(low.count(), high.count())(random_));
}

void FaultInjector::inject(FaultKind kind) {
  const auto began = std::chrono::steady_clock::now();
  switch (kind) {
    case FaultKind::bridge_kill:
      restart_bridge(true, bridge_retry());
      break;
    case FaultKind::postgres_restart:
      cluster_.restart();
      if (cluster_.port() != database_port_) {
        throw std::runtime_error("PostgreSQL came back on another port; the bridge cannot follow");
      }
      break;
    case FaultKind::link_reset:
      for (FaultProxy* proxy : proxies_)
        proxy->reset_links();
      break;
    case FaultKind::link_stall:
      for (FaultProxy* proxy : proxies_)
        proxy->stall_links();
      break;
    case FaultKind::retry_change:
      retry_index_ = (retry_index_ + 1) % settings_.retries.size();
      restart_bridge(false, settings_.retries[retry_index_]);
      break;
    case FaultKind::burst_503: {
      const auto spell = random_duration(kShortestSpell, kLongestSpell);
      for (FaultProxy* proxy : proxies_)
        proxy->refuse(spell);
      break;
    }
    case FaultKind::slow_drip: {
      const auto spell = random_duration(kShortestSpell, kLongestSpell);
      for (FaultProxy* proxy : proxies_)
        proxy->drip(spell);
      break;
    }
    case FaultKind::link_cut:
      for (FaultProxy* proxy : proxies_)
        proxy->cut_links();
      break;
  }
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - began);
  auto& slowest = slowest_[static_cast<std::size_t>(kind)];
  slowest = std::max(slowest, took);
}

milliseconds FaultInjector::slowest(FaultKind kind) const {
  return slowest_[static_cast<std::size_t>(kind)];
}

}  // namespace ssekit::soak
