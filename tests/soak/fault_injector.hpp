// fault_injector.hpp: the faults of the soak, and the bridge and database they are done to.
//
// FaultInjector owns the ssebridge child process (it restarts it, always on the same port) and
// drives the PostgreSQL cluster and the fault proxies. inject() does one fault and returns when
// it has been done (a restarted bridge listens again, a restarted database accepts
// connections); faults on links only start there and play out in the proxies.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "soak/fault_proxy.hpp"
#include "support/bridge_process.hpp"
#include "support/postgres_cluster.hpp"

namespace ssekit::soak {

enum class FaultKind {
  bridge_kill,       ///< SIGKILL the bridge, start it again on the same port.
  postgres_restart,  ///< Stop PostgreSQL (fast shutdown) and start it again.
  link_reset,        ///< Reset (RST) every link, inside an event where one comes along.
  link_stall,        ///< Freeze every link, half-open: only the watchdog can notice.
  retry_change,      ///< Stop the bridge (SIGTERM) and start it with another --retry.
  burst_503,         ///< Reset every link and answer 503 with Retry-After for a while.
  slow_drip,         ///< Forward a few bytes at a time for a while.
  link_cut,          ///< Close (FIN) every link after part of an event.
};

inline constexpr std::array<FaultKind, 8> kFaultKinds = {
    FaultKind::bridge_kill, FaultKind::postgres_restart, FaultKind::link_reset,
    FaultKind::link_stall,  FaultKind::retry_change,     FaultKind::burst_503,
    FaultKind::slow_drip,   FaultKind::link_cut};

/// The report's name of a fault kind ("bridge_kill"...).
const char* to_string(FaultKind kind);

/// How the bridge is run.
struct BridgeSettings {
  std::string database_url;
  /// `: heartbeat` after this long without a write; well below the consumers' watchdog.
  std::chrono::milliseconds heartbeat{500};
  /// The `retry:` values the bridge is started with, in turn (the first at the start).
  std::vector<std::chrono::milliseconds> retries;
};

class FaultInjector {
 public:
  /// Starts the bridge on a free port of 127.0.0.1. Throws with its log when it cannot.
  FaultInjector(test::PostgresCluster& cluster, BridgeSettings settings, std::uint64_t seed);

  /// The proxies whose links the link faults act on.
  void attach(std::vector<FaultProxy*> proxies) { proxies_ = std::move(proxies); }

  int bridge_port() const { return port_; }
  /// The `retry:` the running bridge sends (the last one started).
  std::chrono::milliseconds bridge_retry() const {
    return std::chrono::milliseconds(retry_ms_.load());
  }

  /// Does one fault. Throws std::runtime_error when the bridge or the database does not come
  /// back (which ends the soak: the run cannot go on).
  void inject(FaultKind kind);

  /// Longest time inject() took for each kind, for the report.
  std::chrono::milliseconds slowest(FaultKind kind) const;

 private:
  void start_bridge();
  void restart_bridge(bool crash, std::chrono::milliseconds retry);
  std::chrono::milliseconds random_duration(std::chrono::milliseconds low,
                                            std::chrono::milliseconds high);

  test::PostgresCluster& cluster_;
  const BridgeSettings settings_;
  std::mt19937_64 random_;
  std::unique_ptr<test::BridgeProcess> bridge_;
  int port_ = 0;
  int database_port_ = 0;
  std::atomic<long long> retry_ms_{0};
  std::size_t retry_index_ = 0;
  std::vector<FaultProxy*> proxies_;
  std::array<std::chrono::milliseconds, kFaultKinds.size()> slowest_{};
};

}  // namespace ssekit::soak
