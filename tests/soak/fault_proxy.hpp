// fault_proxy.hpp: a TCP proxy on 127.0.0.1 that breaks the links it carries, on command.
//
// The soak puts one FaultProxy in front of ssebridge for each consumer. Between faults it
// forwards bytes both ways unchanged; a fault changes what it does to the links open at that
// moment (reset, cut, stall) or for a while (slow drip, 503 burst). Buffers are bounded, so a
// consumer that stops reading slows the bridge down through TCP instead of growing memory here.
//
//   ssekit::soak::FaultProxy proxy("ssetail", bridge_port);
//   // consumers connect to 127.0.0.1:proxy.port()
//   proxy.stall_links();  // only the consumer's heartbeat watchdog can notice
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ssekit::soak {

/// What a proxy did, counted since it started.
struct ProxyCounters {
  std::uint64_t links = 0;             ///< Links accepted from consumers.
  std::uint64_t upstream_refused = 0;  ///< Links dropped because the bridge was not there.
  std::uint64_t resets = 0;            ///< Links reset (RST) by a reset fault.
  std::uint64_t cuts = 0;              ///< Links closed (FIN) by a cut fault.
  std::uint64_t breaks_mid_event = 0;  ///< Of resets and cuts, those inside an event's bytes.
  std::uint64_t refused_503 = 0;       ///< Requests answered 503 during a burst.
  std::uint64_t stalled = 0;           ///< Links frozen by a stall fault.
  std::uint64_t stalls_noticed = 0;    ///< Stalled links the consumer gave up on by itself.
  std::uint64_t stalls_unnoticed = 0;  ///< Stalled links still held at the hold limit.
  std::chrono::milliseconds slowest_notice{0};  ///< Longest stall before the consumer left.
  std::vector<std::string> unnoticed;           ///< The first few unnoticed stalls, described.
};

/// Tunables of a proxy; the defaults suit the soak.
struct ProxyLimits {
  /// Bytes buffered per direction of one link before the proxy stops reading that side.
  std::size_t buffer_bytes = 64 * 1024;
  /// A stalled link the consumer has not dropped after this long counts as unnoticed.
  std::chrono::milliseconds stall_hold{10000};
  /// A reset or cut waits this long for an event to break inside, then breaks the link anyway.
  std::chrono::milliseconds break_wait{1000};
  /// Seconds sent in Retry-After during a 503 burst.
  int retry_after_seconds = 2;
};

class FaultProxy {
 public:
  /// Listens on 127.0.0.1, port 0, and forwards every link to 127.0.0.1:`upstream_port`.
  /// `name` appears in error messages. `seed` drives where resets and cuts fall in an event.
  /// Throws std::runtime_error when it cannot listen.
  FaultProxy(std::string name, int upstream_port, std::uint64_t seed, ProxyLimits limits = {});
  /// Stops the proxy thread and closes every link.
  ~FaultProxy();

  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  /// The port consumers connect to.
  int port() const { return port_; }
  const std::string& name() const { return name_; }

  // Faults. Each is posted to the proxy's thread and returns at once. Stalled links are left
  // alone by the others: only the consumer's watchdog may end them.

  /// Every open link: forward part of the next event, then reset both sides (RST).
  void reset_links();
  /// Every open link: forward part of the next event, then close both sides (FIN).
  void cut_links();
  /// Every open link: stop forwarding both ways and hold the sockets open, without FIN or RST.
  void stall_links();
  /// All links, new ones too, for `duration`: forward a few bytes to the consumer at a time.
  void drip(std::chrono::milliseconds duration);
  /// Reset every open link, then for `duration` answer new links 503 with Retry-After.
  void refuse(std::chrono::milliseconds duration);

  /// The counters so far; callable from any thread.
  ProxyCounters counters() const;

 private:
  struct Loop;

  std::string name_;
  int port_ = 0;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace ssekit::soak
