// reconnect_storm_bench: 1,000 clients on one loop lose their server, which comes back on the
// same port a little later. Prints how their reconnect attempts spread over time, per 100 ms,
// for ssekit's jittered backoff beside the same policy with the random source pinned to 1.0
// (pure exponential backoff, no jitter), both run live in the same program.
//
//   reconnect_storm_bench [--clients=1000] [--downtime-ms=2500] [--initial-ms=1000]
//                         [--idle-timeout-ms=45000] [--server=PATH]
//
// The server is idle_stream_server, killed with SIGKILL (every connection drops at once, as in
// a crash) and started again on the same port after --downtime-ms. An attempt is the moment a
// client enters `connecting` for a reconnect, taken in its state callback. The test suite runs
// it with a few clients and a short backoff as a smoke test: it fails only when a client did
// not come back or no attempt was recorded.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_process.hpp"
#include "ssekit/backoff.hpp"
#include "ssekit/client.hpp"
#include "ssekit/loop.hpp"

#ifndef IDLE_STREAM_SERVER
#define IDLE_STREAM_SERVER "idle_stream_server"
#endif

namespace {

using ssekit::bench::ChildProcess;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kBin = milliseconds(100);  // "attempts per 100 ms"
constexpr auto kServerStartTimeout = std::chrono::seconds(10);
// Opening all clients, and their return after the restart, must happen within this.
constexpr auto kPhaseTimeout = std::chrono::seconds(60);
constexpr long kServerLifetimeSeconds = 300;
// The server's heartbeat: every 15 s as in production, but at least three per watchdog period
// so a shortened --idle-timeout-ms never finds a healthy stream silent.
constexpr long kHeartbeatSeconds = 15;
constexpr long kHeartbeatsPerIdleTimeout = 3;
constexpr int kBarWidth = 40;

struct Settings {
  std::size_t clients = 0;
  milliseconds downtime{0};
  milliseconds initial{0};
  milliseconds idle_timeout{0};
  std::string server;
};

struct Round {
  bool ok = false;
  std::vector<double> attempts;          // seconds after the kill
  double first_drop = 0, last_drop = 0;  // when the clients noticed, seconds after the kill
  double cpu_seconds = 0;                // this process, from the kill until all were back
  double all_back_seconds = 0;
  std::size_t returned = 0;
};

struct Tally {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t opens = 0;
  std::vector<Clock::time_point> attempts;
  std::vector<Clock::time_point> drops;  // first `waiting` of each outage: the drop noticed
  Clock::time_point last_open{};
};

long heartbeat_seconds(const Settings& settings) {
  const auto idle = std::chrono::duration_cast<std::chrono::seconds>(settings.idle_timeout);
  return std::clamp<long>(static_cast<long>(idle.count()) / kHeartbeatsPerIdleTimeout, 1,
                          kHeartbeatSeconds);
}

std::unique_ptr<ChildProcess> start_server(const Settings& settings, int port, int* bound) {
  auto server = std::make_unique<ChildProcess>(
      std::vector<std::string>{settings.server, "--port=" + std::to_string(port),
                               "--heartbeat-seconds=" + std::to_string(heartbeat_seconds(settings)),
                               "--lifetime-seconds=" + std::to_string(kServerLifetimeSeconds)},
      ChildProcess::Output::pipe, ChildProcess::Output::inherit);
  const auto line = server->read_line(kServerStartTimeout);
  if (!line || line->rfind("port ", 0) != 0) return nullptr;
  *bound = std::stoi(line->substr(5));
  return server;
}

// Waits until `opens` reaches `count` or the phase times out. True when it did.
bool wait_for_opens(Tally& tally, std::size_t count) {
  std::unique_lock<std::mutex> lock(tally.mutex);
  return tally.changed.wait_for(lock, kPhaseTimeout, [&] { return tally.opens >= count; });
}

// One storm: open every client, kill the server, restart it after the downtime, and wait for
// every client to be back. `pinned` pins the jitter's random draw to 1.0.
Round run_round(const Settings& settings, bool pinned) {
  Round round;
  int port = 0;
  auto server = start_server(settings, 0, &port);
  if (!server) return round;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/events";

  Tally tally;
  auto loop = std::make_shared<ssekit::Loop>();
  std::vector<std::unique_ptr<ssekit::Client>> clients;
  const auto opening_from = Clock::now();
  for (std::size_t i = 0; i < settings.clients; ++i) {
    ssekit::ClientOptions options;
    options.url = url;
    options.loop = loop;
    options.reconnect_policy.initial = settings.initial;
    options.idle_timeout = settings.idle_timeout;
    if (pinned) options.random = [] { return 1.0; };
    auto client = std::make_unique<ssekit::Client>(options);
    client->on_state([&tally](const ssekit::StateChange& change) {
      const auto now = Clock::now();
      std::lock_guard<std::mutex> lock(tally.mutex);
      if (change.state == ssekit::State::connecting && change.attempt > 0) {
        tally.attempts.push_back(now);
      } else if (change.state == ssekit::State::waiting && change.attempt == 1) {
        tally.drops.push_back(now);
      } else if (change.state == ssekit::State::open) {
        ++tally.opens;
        tally.last_open = now;
        tally.changed.notify_all();
      }
    });
    if (client->start()) return round;
    clients.push_back(std::move(client));
  }
  if (!wait_for_opens(tally, settings.clients)) return round;
  std::printf("%s: %zu clients open in %.2f s\n", pinned ? "no jitter" : "jitter", settings.clients,
              std::chrono::duration<double>(Clock::now() - opening_from).count());
  std::fflush(stdout);
  {
    std::lock_guard<std::mutex> lock(tally.mutex);
    tally.attempts.clear();  // none is expected before the kill; the storm starts there
    tally.drops.clear();
  }

  // The outage. Sleeping here is the experiment (the server is down this long), not a wait
  // for something to happen.
  const auto killed_at = Clock::now();
  const auto cpu_at_kill = ssekit::bench::process_cpu_time();
  server->kill_now();
  std::this_thread::sleep_for(settings.downtime);
  int restarted_port = 0;
  server = start_server(settings, port, &restarted_port);
  if (!server || restarted_port != port) return round;

  round.ok = wait_for_opens(tally, 2 * settings.clients);
  round.cpu_seconds =
      std::chrono::duration<double>(ssekit::bench::process_cpu_time() - cpu_at_kill).count();
  clients.clear();
  server->kill_now();

  std::lock_guard<std::mutex> lock(tally.mutex);
  round.returned = tally.opens - std::min(tally.opens, settings.clients);
  round.all_back_seconds = std::chrono::duration<double>(tally.last_open - killed_at).count();
  for (const auto at : tally.attempts) {
    round.attempts.push_back(std::chrono::duration<double>(at - killed_at).count());
  }
  if (!tally.drops.empty()) {
    const auto [first, last] = std::minmax_element(tally.drops.begin(), tally.drops.end());
    round.first_drop = std::chrono::duration<double>(*first - killed_at).count();
    round.last_drop = std::chrono::duration<double>(*last - killed_at).count();
  }
  round.ok = round.ok && !round.attempts.empty();
  return round;
}

std::map<long, std::size_t> histogram(const std::vector<double>& attempts) {
  const double bin_seconds = std::chrono::duration<double>(kBin).count();
  std::map<long, std::size_t> bins;
  for (double at : attempts)
    ++bins[static_cast<long>(at / bin_seconds)];
  return bins;
}

std::size_t peak(const std::map<long, std::size_t>& bins) {
  std::size_t most = 0;
  for (const auto& [bin, count] : bins)
    most = std::max(most, count);
  return most;
}

std::string bar(std::size_t count, std::size_t scale) {
  const auto width = scale == 0 ? 0 : static_cast<int>(count * kBarWidth / scale);
  return std::string(static_cast<std::size_t>(width), '#');
}

// The first wave as the policy alone shapes it, every client dropped at the same instant:
// each one's first delay from backoff_delay() with the default random source, or pinned to 1.0.
std::vector<double> model_first_wave(const Settings& settings, bool pinned) {
  ssekit::ReconnectPolicy policy;
  policy.initial = settings.initial;
  const ssekit::RandomSource random = ssekit::default_random_source();
  std::vector<double> attempts;
  for (std::size_t i = 0; i < settings.clients; ++i) {
    const auto delay = ssekit::backoff_delay(policy, 0, pinned ? 1.0 : random());
    attempts.push_back(std::chrono::duration<double>(delay).count());
  }
  return attempts;
}

void print_report(const Settings& settings, const Round& jittered, const Round& pinned) {
  const auto jittered_bins = histogram(jittered.attempts);
  const auto pinned_bins = histogram(pinned.attempts);
  const std::size_t scale = std::max(peak(jittered_bins), peak(pinned_bins));
  std::map<long, bool> rows;
  for (const auto& [bin, count] : jittered_bins)
    rows[bin] = true;
  for (const auto& [bin, count] : pinned_bins)
    rows[bin] = true;

  std::printf("\n%zu clients, server down %.1f s, backoff initial %.1f s (x2 per attempt)\n",
              settings.clients, std::chrono::duration<double>(settings.downtime).count(),
              std::chrono::duration<double>(settings.initial).count());
  std::printf("reconnect attempts per 100 ms after the kill:\n");
  std::printf("%-12s %-8s %-*s %-8s\n", "t (s)", "jitter", kBarWidth, "", "no jitter");
  const double bin_seconds = std::chrono::duration<double>(kBin).count();
  for (const auto& [bin, present] : rows) {
    const auto count = [&](const std::map<long, std::size_t>& bins) {
      const auto found = bins.find(bin);
      return found == bins.end() ? std::size_t{0} : found->second;
    };
    const std::size_t j = count(jittered_bins);
    const std::size_t p = count(pinned_bins);
    std::printf("%4.1f-%-7.1f %-8zu %-*s %-8zu %s\n", bin * bin_seconds, (bin + 1) * bin_seconds, j,
                kBarWidth, bar(j, scale).c_str(), p, bar(p, scale).c_str());
  }
  const std::size_t jittered_peak = peak(jittered_bins);
  const std::size_t pinned_peak = peak(pinned_bins);
  std::printf("\n%-28s %12s %12s\n", "", "jitter", "no jitter");
  std::printf("%-28s %12zu %12zu\n", "peak attempts per 100 ms", jittered_peak, pinned_peak);
  std::printf("%-28s %12zu %12zu\n", "attempts in all", jittered.attempts.size(),
              pinned.attempts.size());
  std::printf("%-28s %12zu %12zu\n", "clients back", jittered.returned, pinned.returned);
  std::printf("%-28s %12.2f %12.2f\n", "all back after (s)", jittered.all_back_seconds,
              pinned.all_back_seconds);
  std::printf("%-28s %5.2f - %4.2f %5.2f - %4.2f\n", "drop noticed (s)", jittered.first_drop,
              jittered.last_drop, pinned.first_drop, pinned.last_drop);
  std::printf("%-28s %12zu %12zu\n", "model: first wave peak",
              peak(histogram(model_first_wave(settings, false))),
              peak(histogram(model_first_wave(settings, true))));
  std::printf("%-28s %12.0f %12.0f\n", "client CPU per attempt (us)",
              1e6 * jittered.cpu_seconds /
                  static_cast<double>(std::max<std::size_t>(jittered.attempts.size(), 1)),
              1e6 * pinned.cpu_seconds /
                  static_cast<double>(std::max<std::size_t>(pinned.attempts.size(), 1)));
  if (jittered_peak > 0) {
    std::printf("peak without jitter / peak with jitter: %.2f\n",
                static_cast<double>(pinned_peak) / static_cast<double>(jittered_peak));
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    ssekit::bench::Flags flags(argc, argv);
    Settings settings;
    settings.clients = static_cast<std::size_t>(flags.number("clients", 1000));
    settings.downtime = milliseconds(static_cast<long>(flags.number("downtime-ms", 2500)));
    settings.initial = milliseconds(static_cast<long>(flags.number("initial-ms", 1000)));
    // ssekit's default; the smoke test shortens it so that a link the watchdog has to drop
    // costs it seconds, not 45.
    settings.idle_timeout = milliseconds(static_cast<long>(flags.number("idle-timeout-ms", 45000)));
    settings.server = flags.text("server", IDLE_STREAM_SERVER);
    if (!flags.unknown().empty()) {
      std::fprintf(stderr, "unknown flag --%s\n", flags.unknown().front().c_str());
      return 2;
    }
    ssekit::bench::raise_open_file_limit();

    const Round jittered = run_round(settings, /*pinned=*/false);
    const Round pinned = run_round(settings, /*pinned=*/true);
    print_report(settings, jittered, pinned);
    if (!jittered.ok || !pinned.ok) {
      std::fprintf(stderr, "reconnect_storm_bench: a round did not complete\n");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reconnect_storm_bench: %s\n", e.what());
    return 1;
  }
}
