// idle_streams_bench: many idle streams held by one process on one shared ssekit::Loop. Reports
// the time until all are open, resident memory per stream and CPU use while they idle, beside
// the targets, for plain HTTP and for TLS.
//
//   idle_streams_bench [--streams=10000] [--tls-streams=1000] [--idle-seconds=30]
//                      [--heartbeat-seconds=15] [--mode=both|plain|tls] [--server=PATH]
//
// The streams come from idle_stream_server, started as a child process on 127.0.0.1 (it needs
// as many sockets as we do). Each mode runs in a fresh copy of this program so that memory freed
// by one cannot be reused by the other and hide in its figures. The test suite runs it with a
// few streams for a second as a smoke test: it fails only when a stream did not open or no
// heartbeat arrived.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_process.hpp"
#include "ssekit/client.hpp"
#include "ssekit/loop.hpp"

#ifndef IDLE_STREAM_SERVER
#define IDLE_STREAM_SERVER "idle_stream_server"
#endif

namespace {

using ssekit::bench::ChildProcess;
using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

// File descriptors this process needs besides one per stream: the loop's epoll and eventfd,
// pipes to the server, stdio, libcurl's own.
constexpr std::size_t kSpareFds = 64;

constexpr auto kServerStartTimeout = std::chrono::seconds(10);
constexpr auto kCertTimeout = std::chrono::seconds(30);
// The server outlives the longest run by this much, then exits on its own.
constexpr long kServerGraceSeconds = 120;

constexpr double kKiB = 1024;

// The targets and its quoted baseline.
constexpr double kTargetOpenSeconds = 10;
constexpr double kTargetKiBPerStream = 20;
constexpr double kNodeEventsourceKiBPerStream = 40;
constexpr double kTargetIdleCpuPercent = 5;

struct Settings {
  std::size_t streams = 0;
  seconds idle{0};
  seconds heartbeat{0};
  seconds open_timeout{0};
  std::string server;
  bool tls = false;
};

// Counts what the clients report; callbacks run on the loop thread, main() reads.
struct Tally {
  std::size_t expected = 0;
  std::atomic<std::size_t> opened{0};
  std::atomic<std::size_t> comments{0};
  std::atomic<std::size_t> waits{0};
  std::atomic<std::size_t> errors{0};
  std::mutex mutex;
  std::condition_variable all_open;
  Clock::time_point all_open_at{};
};

// A throwaway self-signed certificate for 127.0.0.1 (EC P-256: cheap handshakes), made by the
// openssl command line in a fresh temporary folder.
struct Certificate {
  std::filesystem::path folder;
  std::string cert, key;

  Certificate() {
    std::string pattern = "/tmp/ssekit-idle-bench-" + std::string(6, 'X');  // mkdtemp's template
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    folder = pattern;
    cert = (folder / "cert.pem").string();
    key = (folder / "key.pem").string();
    ChildProcess openssl(
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert},
        ChildProcess::Output::discard, ChildProcess::Output::discard);
    const auto exit = openssl.wait(kCertTimeout);
    if (!exit.exited || exit.status != 0) throw std::runtime_error("openssl req failed");
  }
  ~Certificate() {
    std::error_code ignored;
    std::filesystem::remove_all(folder, ignored);
  }
};

ssekit::ClientOptions stream_options(const std::string& url,
                                     const std::shared_ptr<ssekit::Loop>& loop,
                                     const Certificate* certificate) {
  ssekit::ClientOptions options;
  options.url = url;
  options.loop = loop;
  if (certificate != nullptr) options.tls.ca_file = certificate->cert;  // verification stays on
  return options;
}

void count_into(ssekit::Client& client, Tally& tally) {
  client.on_state([&tally](const ssekit::StateChange& change) {
    if (change.state == ssekit::State::waiting) ++tally.waits;
    if (change.state != ssekit::State::open) return;
    if (++tally.opened == tally.expected) {
      std::lock_guard<std::mutex> lock(tally.mutex);
      tally.all_open_at = Clock::now();
      tally.all_open.notify_all();
    }
  });
  client.on_comment([&tally](std::string_view) { ++tally.comments; });
  client.on_error([&tally](const ssekit::Error&) { ++tally.errors; });
}

double kib(std::size_t bytes) {
  return static_cast<double>(bytes) / kKiB;
}

const char* verdict(bool met) {
  return met ? "met" : "MISSED";
}

// One mode: starts the server, opens the streams, idles, reports. Returns the exit code.
int run_mode(Settings settings) {
  const std::size_t fd_limit = ssekit::bench::raise_open_file_limit();
  if (settings.streams + kSpareFds > fd_limit) {
    std::printf("open-file limit %zu: holding %zu streams instead of %zu\n", fd_limit,
                fd_limit - kSpareFds, settings.streams);
    settings.streams = fd_limit - kSpareFds;
  }
  const char* kind = settings.tls ? "TLS" : "plain HTTP";

  std::unique_ptr<Certificate> certificate;
  if (settings.tls) certificate = std::make_unique<Certificate>();

  const long lifetime = settings.open_timeout.count() + settings.idle.count() + kServerGraceSeconds;
  std::vector<std::string> server_args = {
      settings.server, "--heartbeat-seconds=" + std::to_string(settings.heartbeat.count()),
      "--lifetime-seconds=" + std::to_string(lifetime)};
  if (certificate) {
    server_args.push_back("--tls-cert=" + certificate->cert);
    server_args.push_back("--tls-key=" + certificate->key);
    server_args.push_back("--tls-streams=" + std::to_string(settings.streams + 1));
  }
  ChildProcess server(server_args, ChildProcess::Output::pipe, ChildProcess::Output::inherit);
  const auto port_line = server.read_line(kServerStartTimeout);
  if (!port_line || port_line->rfind("port ", 0) != 0) {
    std::fprintf(stderr, "idle_streams_bench: the server did not start\n");
    return 1;
  }
  const std::string url = std::string(settings.tls ? "https" : "http") +
                          "://127.0.0.1:" + port_line->substr(5) + "/events";

  // One stream opened first brings in what the first costs once (libcurl's and OpenSSL's
  // tables, the loop thread's stack, the DNS cache): the baseline is taken after it.
  auto loop = std::make_shared<ssekit::Loop>();
  Tally warm_tally;
  warm_tally.expected = 1;
  ssekit::Client warm(stream_options(url, loop, certificate.get()));
  count_into(warm, warm_tally);
  if (warm.start()) return 1;
  {
    std::unique_lock<std::mutex> lock(warm_tally.mutex);
    warm_tally.all_open.wait_for(lock, settings.open_timeout,
                                 [&] { return warm_tally.opened == 1; });
  }
  if (warm_tally.opened != 1) {
    std::fprintf(stderr, "idle_streams_bench: the first %s stream did not open\n", kind);
    return 1;
  }
  const std::size_t rss_baseline = ssekit::bench::resident_bytes();

  Tally tally;
  tally.expected = settings.streams;
  std::vector<std::unique_ptr<ssekit::Client>> clients;
  clients.reserve(settings.streams);
  const auto started_at = Clock::now();
  for (std::size_t i = 0; i < settings.streams; ++i) {
    clients.push_back(
        std::make_unique<ssekit::Client>(stream_options(url, loop, certificate.get())));
    count_into(*clients.back(), tally);
    if (clients.back()->start()) return 1;
  }
  {
    std::unique_lock<std::mutex> lock(tally.mutex);
    tally.all_open.wait_until(lock, started_at + settings.open_timeout,
                              [&] { return tally.opened >= settings.streams; });
  }
  const bool all_open = tally.opened >= settings.streams;
  const double open_seconds =
      all_open ? std::chrono::duration<double>(tally.all_open_at - started_at).count() : 0;
  const std::size_t rss_open = ssekit::bench::resident_bytes();

  // The idle window is the measurement itself: nothing waits on it.
  const std::size_t comments_before = tally.comments;
  const auto cpu_before = ssekit::bench::process_cpu_time();
  const auto idle_from = Clock::now();
  std::this_thread::sleep_for(settings.idle);
  const double idle_seconds = std::chrono::duration<double>(Clock::now() - idle_from).count();
  const double cpu_seconds =
      std::chrono::duration<double>(ssekit::bench::process_cpu_time() - cpu_before).count();
  const std::size_t heartbeats = tally.comments - comments_before;
  const std::size_t rss_idle = ssekit::bench::resident_bytes();

  const auto closing_from = Clock::now();
  clients.clear();
  const double close_seconds = std::chrono::duration<double>(Clock::now() - closing_from).count();
  warm.close();
  server.kill_now();

  // The larger of the two readings: what the streams hold at their peak.
  const std::size_t rss_held = std::max(rss_open, rss_idle);
  const double per_stream_kib =
      rss_held > rss_baseline ? kib(rss_held - rss_baseline) / static_cast<double>(settings.streams)
                              : 0;
  const double cpu_percent = 100 * cpu_seconds / idle_seconds;
  std::printf("\n%s: %zu idle streams on one ssekit::Loop, heartbeat every %lld s\n", kind,
              settings.streams, static_cast<long long>(settings.heartbeat.count()));
  std::printf("  open:       %zu of %zu in %.2f s                 target <= %.0f s: %s\n",
              tally.opened.load(), settings.streams, open_seconds, kTargetOpenSeconds,
              verdict(all_open && open_seconds <= kTargetOpenSeconds));
  std::printf("  memory:     %.1f KiB per stream (RSS %.1f MiB before, %.1f open, %.1f idle)\n",
              per_stream_kib, kib(rss_baseline) / kKiB, kib(rss_open) / kKiB, kib(rss_idle) / kKiB);
  std::printf(
      "              target <= %.0f KiB (plain; Node's eventsource ~%.0f KiB, quoted): "
      "%s\n",
      kTargetKiBPerStream, kNodeEventsourceKiBPerStream,
      settings.tls ? "n/a for TLS" : verdict(per_stream_kib <= kTargetKiBPerStream));
  std::printf(
      "  idle CPU:   %.2f%% of one core over %.1f s (%.3f s CPU, %zu heartbeats)  "
      "target < %.0f%%: %s\n",
      cpu_percent, idle_seconds, cpu_seconds, heartbeats, kTargetIdleCpuPercent,
      verdict(cpu_percent < kTargetIdleCpuPercent));
  std::printf("  reconnects: %zu, errors: %zu; closing all took %.2f s\n", tally.waits.load(),
              tally.errors.load(), close_seconds);
  std::fflush(stdout);

  return all_open && tally.comments > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    ssekit::bench::Flags flags(argc, argv);
    Settings settings;
    const auto streams = static_cast<std::size_t>(flags.number("streams", 10000));
    const auto tls_streams = static_cast<std::size_t>(flags.number("tls-streams", 1000));
    settings.idle = seconds(static_cast<long>(flags.number("idle-seconds", 30)));
    settings.heartbeat = seconds(static_cast<long>(flags.number("heartbeat-seconds", 15)));
    settings.open_timeout = seconds(static_cast<long>(flags.number("open-timeout-seconds", 60)));
    settings.server = flags.text("server", IDLE_STREAM_SERVER);
    const std::string mode = flags.text("mode", "both");
    if (!flags.unknown().empty()) {
      std::fprintf(stderr, "unknown flag --%s\n", flags.unknown().front().c_str());
      return 2;
    }

    if (mode == "plain" || mode == "tls") {
      settings.tls = mode == "tls";
      settings.streams = settings.tls ? tls_streams : streams;
      return run_mode(settings);
    }

    // Both: each mode in a fresh process of its own (see the top of the file).
    int failures = 0;
    for (const char* each : {"plain", "tls"}) {
      std::vector<std::string> args = {ssekit::bench::self_executable(),
                                       std::string("--mode=") + each};
      for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]).rfind("--mode", 0) != 0) args.emplace_back(argv[i]);
      }
      ChildProcess child(args, ChildProcess::Output::inherit, ChildProcess::Output::inherit);
      const auto limit = settings.open_timeout + settings.idle + seconds(kServerGraceSeconds);
      const auto exit = child.wait(limit);
      if (!exit.exited || exit.status != 0) ++failures;
    }
    return failures == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "idle_streams_bench: %s\n", e.what());
    return 1;
  }
}
