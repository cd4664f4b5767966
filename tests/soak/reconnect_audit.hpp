// reconnect_audit.hpp: checks every reconnect delay a C++ client announces against its policy.
//
// The client reports each wait as a StateChange (waiting, delay, attempt n, reason). The policy
// says the delay is min(initial * 2^(n-1), max) jittered into [0.7, 1.0] of that, where
// `initial` is the server's latest `retry:` once one arrived, and a 503's Retry-After wins when
// longer. The audit recomputes that nominal value and keeps the ratio delay / nominal.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ssekit/backoff.hpp"
#include "ssekit/client.hpp"

namespace ssekit::soak {

/// The delays seen so far, as ratios to the policy's value.
struct DelayFigures {
  std::uint64_t delays = 0;   ///< Reconnect waits checked.
  std::uint64_t outside = 0;  ///< Of those, ratios outside [kJitterFloor, 1.0].
  double min_ratio = 0.0;
  double max_ratio = 0.0;
  std::map<std::string, std::uint64_t> by_cause;  ///< Waits per reason (error code name).
  std::vector<std::string> first_outside;         ///< The first few outside, described.
};

class ReconnectAudit {
 public:
  /// `policy` is the client's; `retry_after` the Retry-After every 503 of the soak carries.
  ReconnectAudit(ReconnectPolicy policy, std::chrono::milliseconds retry_after);

  /// The stream opened: `bytes` is the client's byte counter now, `server_retry` the `retry:`
  /// the bridge serving it sends first thing in every stream.
  void opened(std::uint64_t bytes, std::chrono::milliseconds server_retry);

  /// The client announced a wait; `bytes` is its byte counter now.
  void waiting(const StateChange& change, std::uint64_t bytes);

  DelayFigures figures() const;

 private:
  std::chrono::milliseconds nominal(unsigned attempt, int http_status) const;

  const ReconnectPolicy policy_;
  const std::chrono::milliseconds retry_after_;

  mutable std::mutex mutex_;
  std::optional<std::chrono::milliseconds> server_retry_;   // the client's, as far as we know
  std::optional<std::chrono::milliseconds> offered_retry_;  // sent on the open stream
  std::uint64_t bytes_at_open_ = 0;
  DelayFigures figures_;
};

}  // namespace ssekit::soak
