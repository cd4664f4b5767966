// bridge_test_util.hpp: small helpers shared by the bridge tests: publishing over HTTP,
// reading /metrics, and waiting on a condition with a deadline.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace ssekit::test {

using namespace std::chrono_literals;

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns its last value.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

/// POST /events; returns the new id, or -status when the bridge refused.
inline long long publish(int port, const std::string& channel, const std::string& data,
                         const std::string& type = "message",
                         const httplib::Headers& headers = {}) {
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(30, 0);
  const auto res = http.Post(("/events?channel=" + channel + "&type=" + type).c_str(), headers,
                             data, "text/plain");
  if (!res) return -1;
  if (res->status != 200) return -res->status;
  const auto colon = res->body.find(':');
  return std::stoll(res->body.substr(colon + 1));
}

/// The value of metric `name` in /metrics, or -1.
inline long long metric(int port, const std::string& name) {
  httplib::Client http("127.0.0.1", port);
  const auto res = http.Get("/metrics");
  if (!res) return -1;
  const std::string prefix = "\n" + name + " ";
  const auto pos = res->body.find(prefix);
  if (pos == std::string::npos) return -1;
  return std::stoll(res->body.substr(pos + prefix.size()));
}

}  // namespace ssekit::test
