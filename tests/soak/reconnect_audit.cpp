// reconnect_audit.cpp: the policy's reconnect delay, recomputed from what the client reports.
#include "soak/reconnect_audit.hpp"

#include <algorithm>
#include <cmath>

namespace ssekit::soak {
namespace {

using std::chrono::milliseconds;

// Outside delays described in the report; the count covers the rest.
constexpr std::size_t kOutsideKept = 5;
// The client keeps whole milliseconds of the jittered delay (it truncates), so a delay may sit up
// to this much below kJitterFloor times the nominal value.
constexpr milliseconds kTruncation{1};

// Bytes of the `retry: N` line up to its LF, the point where the client's parser takes it.
std::uint64_t retry_line_bytes(milliseconds retry) {
  return std::string("retry: ").size() + std::to_string(retry.count()).size() + 1;
}

}  // namespace

ReconnectAudit::ReconnectAudit(ReconnectPolicy policy, milliseconds retry_after)
    : policy_(std::move(policy)), retry_after_(retry_after) {}

void ReconnectAudit::opened(std::uint64_t bytes, milliseconds server_retry) {
  std::lock_guard<std::mutex> lock(mutex_);
  bytes_at_open_ = bytes;
  offered_retry_ = server_retry;
}

milliseconds ReconnectAudit::nominal(unsigned attempt, int http_status) const {
  // As backoff.hpp: a server's retry: replaces `initial`, and may exceed `max`.
  const milliseconds initial =
      server_retry_ ? std::min(*server_retry_, policy_.max_server_retry) : policy_.initial;
  const double ceiling = static_cast<double>(std::max(initial, policy_.max).count());
  const unsigned doublings = std::min(attempt == 0 ? 0u : attempt - 1, 62u);
  const double value = std::min(
      static_cast<double>(initial.count()) * std::ldexp(1.0, static_cast<int>(doublings)), ceiling);
  milliseconds result(static_cast<milliseconds::rep>(value));
  // Every 503 of the soak (the proxy's bursts, the bridge without its database) carries
  // Retry-After, which the client honours when it is longer than its own delay.
  if (http_status == 503) result = std::max(result, retry_after_);
  return result;
}

void ReconnectAudit::waiting(const StateChange& change, std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);

  // The stream that just ended told the client its retry: if the client read that far.
  if (offered_retry_ && bytes - bytes_at_open_ >= retry_line_bytes(*offered_retry_)) {
    server_retry_ = *offered_retry_;
  }
  offered_retry_.reset();

  const milliseconds expected = nominal(change.attempt, change.reason.http_status);
  const double ratio = expected.count() > 0 ? static_cast<double>(change.delay.count()) /
                                                  static_cast<double>(expected.count())
                                            : 1.0;
  if (figures_.delays == 0) {
    figures_.min_ratio = ratio;
    figures_.max_ratio = ratio;
  }
  ++figures_.delays;
  figures_.min_ratio = std::min(figures_.min_ratio, ratio);
  figures_.max_ratio = std::max(figures_.max_ratio, ratio);
  ++figures_.by_cause[to_string(change.reason.code)];

  const bool above = change.delay > expected;
  const bool below = static_cast<double>((change.delay + kTruncation).count()) <
                     kJitterFloor * static_cast<double>(expected.count());
  if (above || below) {
    ++figures_.outside;
    if (figures_.first_outside.size() < kOutsideKept) {
      figures_.first_outside.push_back("attempt " + std::to_string(change.attempt) + " after " +
                                       to_string(change.reason.code) + " (HTTP " +
                                       std::to_string(change.reason.http_status) +
                                       "): " + std::to_string(change.delay.count()) +
                                       " ms, policy " + std::to_string(expected.count()) + " ms");
    }
  }
}

DelayFigures ReconnectAudit::figures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return figures_;
}

}  // namespace ssekit::soak
