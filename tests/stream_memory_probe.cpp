// stream_memory_probe: one ssekit Client in a process of its own, reporting what a stream
// delivered and how much resident memory it cost. security_test runs it as a child so that the
// client's memory is measured alone, away from the test's server and its buffers.
//
//   stream_memory_probe URL MAX_LINE_BYTES MAX_EVENT_BYTES LAST_DATA TIMEOUT_SECONDS
//
// The stream must first deliver an event whose data is "ready": the resident size then is the
// baseline, and the peak is reset (where the kernel allows it) so that only what follows counts.
// The probe ends when an event with data LAST_DATA arrives, the client closes, or the timeout
// passes, and prints one "key value" line per fact on stdout:
//
//   events ready,after            data of each event (cut to 16 bytes), in order
//   errors line_too_long@1048600  code of each error and the body bytes received at that moment
//   baseline_kib 9120             VmRSS when "ready" arrived
//   peak_kib 10244                VmHWM at the end
//   peak_reset yes                whether the peak could be reset at the baseline
//   bytes 10737418295             body bytes received
//   connects 1                    times the stream opened
//   seconds 11.2                  from "ready" to the end
//   outcome done|closed|timeout
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "ssekit/client.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Address space the probe may map. A client that ignored its limits would hit this and fail
// with bad_alloc instead of exhausting a machine shared with other builds; a client that keeps
// its limits maps a small fraction of it (threads and malloc arenas reserve most of what it maps).
constexpr rlim_t kAddressSpaceCap = rlim_t{4} << 30;

// Set by tests/CMakeLists.txt in sanitizer builds, whose runtimes reserve terabytes of address
// space for shadow memory: no cap there (the test sends them floods too small to need one).
#ifndef SSEKIT_SANITIZED
#define SSEKIT_SANITIZED 0
#endif
constexpr bool kSanitized = SSEKIT_SANITIZED != 0;

// How much of each event's data the report shows: enough to tell the markers apart.
constexpr std::size_t kShownDataBytes = 16;

// How many event and error entries the report keeps: a broken parser could produce millions.
constexpr std::size_t kMaxReported = 64;

// The value of a "Name:   1234 kB" line of /proc/self/status, in KiB; 0 when absent.
long status_kib(const char* name) {
  std::ifstream status("/proc/self/status");
  const std::string prefix = std::string(name) + ":";
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  }
  return 0;
}

// Resets VmHWM to the current resident size (Linux 4.0+). False where /proc is read-only.
bool reset_peak() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

// What the callbacks saw, shared between the loop thread and main.
struct Report {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> events;
  std::vector<std::string> errors;
  long baseline_kib = 0;
  bool peak_reset = false;
  Clock::time_point ready_at{};
  bool done = false;
  bool closed = false;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s URL MAX_LINE_BYTES MAX_EVENT_BYTES LAST_DATA TIMEOUT_SECONDS\n",
                 argv[0]);
    return 2;
  }
  if (!kSanitized) {
    const rlimit cap{kAddressSpaceCap, kAddressSpaceCap};
    setrlimit(RLIMIT_AS, &cap);
  }

  ssekit::ClientOptions options;
  options.url = argv[1];
  options.limits.max_line_bytes = std::strtoull(argv[2], nullptr, 10);
  options.limits.max_event_bytes = std::strtoull(argv[3], nullptr, 10);
  const std::string last_data = argv[4];
  const std::chrono::seconds timeout(std::strtol(argv[5], nullptr, 10));

  Report report;
  ssekit::Client client(options);
  client.on_event([&](const ssekit::Event& event) {
    std::lock_guard<std::mutex> lock(report.mutex);
    if (event.data == "ready") {
      report.baseline_kib = status_kib("VmRSS");
      report.peak_reset = reset_peak();
      report.ready_at = Clock::now();
    }
    if (report.events.size() < kMaxReported)
      report.events.push_back(event.data.substr(0, kShownDataBytes));
    if (event.data == last_data) report.done = true;
    report.changed.notify_all();
  });
  client.on_error([&](const ssekit::Error& error) {
    const auto bytes = client.stats().bytes;
    std::lock_guard<std::mutex> lock(report.mutex);
    if (report.errors.size() < kMaxReported)
      report.errors.push_back(std::string(ssekit::to_string(error.code)) + "@" +
                              std::to_string(bytes));
  });
  client.on_state([&](const ssekit::StateChange& change) {
    if (change.state != ssekit::State::closed) return;
    std::lock_guard<std::mutex> lock(report.mutex);
    report.closed = true;
    report.changed.notify_all();
  });
  if (ssekit::Error error = client.start()) {
    std::fprintf(stderr, "stream_memory_probe: %s\n", error.message.c_str());
    return 1;
  }

  std::string outcome = "timeout";
  {
    std::unique_lock<std::mutex> lock(report.mutex);
    if (report.changed.wait_for(lock, timeout, [&] { return report.done || report.closed; }))
      outcome = report.done ? "done" : "closed";
  }
  const long peak_kib = status_kib("VmHWM");
  const auto stats = client.stats();
  const auto ended_at = Clock::now();
  client.close();

  std::lock_guard<std::mutex> lock(report.mutex);
  const auto join = [](const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items)
      text += (text.empty() ? "" : ",") + item;
    return text.empty() ? std::string("-") : text;
  };
  const double seconds = report.ready_at == Clock::time_point{}
                             ? 0.0
                             : std::chrono::duration<double>(ended_at - report.ready_at).count();
  std::printf("events %s\n", join(report.events).c_str());
  std::printf("errors %s\n", join(report.errors).c_str());
  std::printf("baseline_kib %ld\n", report.baseline_kib);
  std::printf("peak_kib %ld\n", peak_kib);
  std::printf("peak_reset %s\n", report.peak_reset ? "yes" : "no");
  std::printf("bytes %llu\n", static_cast<unsigned long long>(stats.bytes));
  std::printf("connects %llu\n", static_cast<unsigned long long>(stats.connects));
  std::printf("seconds %.2f\n", seconds);
  std::printf("outcome %s\n", outcome.c_str());
  return 0;
}
