// soak.cpp: the exactly-once soak of issue 7. Run by scripts/soak; not a ctest test.
//
// A publisher writes numbered events through PostgreSQL into ssebridge while three consumers
// (ssetail --json, an in-process ssekit::Client, a Python ssekit.EventSource) read them through
// fault proxies, and faults of every kind are injected at random (seeded) moments. At the end
// it prints what each consumer delivered against what was published, and exits 1 when any event
// was lost, duplicated or reordered, a reconnect delay left its policy, a stall went unnoticed,
// or a consumer died; 2 for bad usage; 3 when the run itself could not be set up or finish.
//
//   soak_driver --faults 100 --seed 42
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "soak/child_consumer.hpp"
#include "soak/delivery_check.hpp"
#include "soak/fault_injector.hpp"
#include "soak/fault_proxy.hpp"
#include "soak/publisher.hpp"
#include "soak/reconnect_audit.hpp"
#include "ssekit/client.hpp"
#include "support/postgres_cluster.hpp"

namespace ssekit::soak {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The consumers' heartbeat watchdog: four of the bridge's heartbeats, so a loaded machine does
// not trip it, and short enough that a stalled link is dropped within seconds.
constexpr milliseconds kIdleTimeout{2000};
constexpr milliseconds kHeartbeat{500};
// Short backoff, so faults can come densely; the bridge's retry: values replace `initial`.
constexpr milliseconds kBackoffInitial{100};
constexpr milliseconds kBackoffMax{1000};
// A client open this long counts as healthy again (its attempt counter restarts).
constexpr milliseconds kResetAfter{5000};
// The bridge's --retry, in turn: the first at the start, then one more per retry_change.
const std::vector<milliseconds> kBridgeRetries = {milliseconds(300), milliseconds(150),
                                                  milliseconds(600)};
// Retry-After of every 503 in the soak: the proxy's bursts, and the bridge's own while its
// database connection is down (samples/ssebridge/bridge.cpp, kRetryAfterSeconds).
constexpr seconds kRetryAfter{2};
// Events published per second.
constexpr double kDefaultRate = 40.0;
// The default run: a thousand faults in at most 15 minutes.
constexpr int kDefaultFaults = 1000;
// Time per fault the budget allows by default, and the budget's bounds.
constexpr milliseconds kBudgetPerFault{1800};
constexpr seconds kShortestBudget{60};
constexpr seconds kLongestBudget{900};
// Kept out of the fault phase for the consumers to catch up at the end.
constexpr seconds kDrainReserve{25};
// Gaps between faults stay within this, whatever the budget says.
constexpr milliseconds kShortestGap{50};
constexpr milliseconds kLongestGap{3000};
// How long every consumer gets to deliver its first event, and to catch up at the end.
constexpr seconds kFirstEventWait{30};
constexpr seconds kCatchUpWait{60};
// Events published after the last fault, so every consumer ends on a healthy stretch.
constexpr milliseconds kCalmTail{2000};
// A progress line after every this many faults.
constexpr int kProgressEvery = 50;
// How often waits look at their condition.
constexpr milliseconds kWaitSlice{50};

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitBroken = 3;

struct Settings {
  int faults = kDefaultFaults;
  std::uint64_t seed = 0;
  bool seed_given = false;
  double rate = kDefaultRate;
  std::optional<seconds> budget;
  std::vector<FaultKind> kinds{kFaultKinds.begin(), kFaultKinds.end()};
  std::string client_log;  // where the C++ client's log lines go; empty: nowhere
  std::string python = "/usr/bin/python3";
  std::string ssetail = SSETAIL_BINARY;
  std::string python_package = SOAK_PYTHON_PACKAGE_DIR;
  std::string python_consumer = SOAK_PYTHON_CONSUMER;
};

void usage(std::ostream& out) {
  out << "usage: soak_driver [--faults N] [--seed S] [--rate EVENTS_PER_S] [--budget SECONDS]\n"
         "                   [--python PATH] [--ssetail PATH] [--python-package DIR]\n"
         "  --faults N   faults to inject (default 1000)\n"
         "  --seed S     seed of the fault schedule (default: random, printed)\n"
         "  --rate R     events published per second (default 40)\n"
         "  --budget S   seconds the whole run may take (default 1.8 s a fault, 60 to 900)\n"
         "  --kinds K,K  only these fault kinds (default all: bridge_kill, postgres_restart,\n"
         "               link_reset, link_stall, retry_change, burst_503, slow_drip, link_cut)\n"
         "  --client-log FILE  write the C++ client's log (debug level) to FILE\n";
}

std::optional<Settings> parse(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(std::cout);
      std::exit(0);
    }
    if (i + 1 >= argc) return std::nullopt;
    const std::string value = argv[++i];
    try {
      if (arg == "--faults") {
        settings.faults = std::stoi(value);
        if (settings.faults < 1) return std::nullopt;
      } else if (arg == "--seed") {
        settings.seed = std::stoull(value);
        settings.seed_given = true;
      } else if (arg == "--rate") {
        settings.rate = std::stod(value);
        if (settings.rate <= 0 || settings.rate > 1000) return std::nullopt;
      } else if (arg == "--budget") {
        settings.budget = seconds(std::stoi(value));
        if (*settings.budget < kShortestBudget) return std::nullopt;
      } else if (arg == "--kinds") {
        settings.kinds.clear();
        std::stringstream list(value);
        std::string name;
        while (std::getline(list, name, ',')) {
          const auto kind = std::find_if(kFaultKinds.begin(), kFaultKinds.end(),
                                         [&](FaultKind k) { return name == to_string(k); });
          if (kind == kFaultKinds.end()) return std::nullopt;
          settings.kinds.push_back(*kind);
        }
        if (settings.kinds.empty()) return std::nullopt;
      } else if (arg == "--client-log") {
        settings.client_log = value;
      } else if (arg == "--python") {
        settings.python = value;
      } else if (arg == "--ssetail") {
        settings.ssetail = value;
      } else if (arg == "--python-package") {
        settings.python_package = value;
      } else {
        return std::nullopt;
      }
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (!settings.seed_given) settings.seed = std::random_device{}();
  return settings;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// The in-process consumer: a ssekit::Client whose events go to a DeliveryCheck and whose
/// reconnect waits go to a ReconnectAudit.
class ClientConsumer {
 public:
  /// Starts the client on `url`; with a `log_path`, its log lines (debug level) go there.
  ClientConsumer(const std::string& url, const std::string& last_event_id, DeliveryCheck& check,
                 const FaultInjector& injector, const std::string& log_path)
      : audit_(policy(), kRetryAfter) {
    ClientOptions options;
    if (!log_path.empty()) {
      log_ = std::make_shared<std::ofstream>(log_path);
      const auto start = Clock::now();
      options.log_level = LogLevel::debug;
      options.logger = [log = log_, start](LogLevel level, std::string_view line) {
        *log << seconds_since(start) << ' ' << to_string(level) << ' ' << line << std::endl;
      };
    }
    options.url = url;
    options.last_event_id = last_event_id;
    options.idle_timeout = kIdleTimeout;
    options.reconnect_policy = policy();
    client_ = std::make_unique<Client>(options);
    client_->on_event([&check](const Event& e) { check.record(e.type, e.data, e.id); });
    client_->on_state([this, &injector](const StateChange& change) {
      if (change.state == State::open) {
        audit_.opened(client_->stats().bytes, injector.bridge_retry());
      } else if (change.state == State::waiting) {
        audit_.waiting(change, client_->stats().bytes);
      }
    });
    if (Error error = client_->start()) throw std::runtime_error(error.message);
  }

  static ReconnectPolicy policy() {
    ReconnectPolicy p;
    p.initial = kBackoffInitial;
    p.max = kBackoffMax;
    p.reset_after = kResetAfter;
    return p;
  }

  bool alive() const { return client_->state() != State::closed; }
  std::string ending() const { return client_->close_reason().message; }
  void stop() { client_->close(); }
  DelayFigures delays() const { return audit_.figures(); }

 private:
  ReconnectAudit audit_;
  std::shared_ptr<std::ofstream> log_;
  std::unique_ptr<Client> client_;
};

/// Waits until `done` holds or `limit` passes; true when it held.
template <class Condition>
bool wait_until(Condition done, milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kWaitSlice);
  }
  return true;
}

/// The gap before the next fault: what the budget leaves per remaining fault, drawn between
/// half and one and a half of it, so faults come at random moments but the run ends in time.
milliseconds next_gap(std::mt19937_64& random, Clock::time_point fault_deadline, int left,
                      milliseconds typical_injection) {
  const auto remaining = std::chrono::duration_cast<milliseconds>(fault_deadline - Clock::now());
  const auto share = remaining / std::max(left, 1) - typical_injection;
  const auto mean = std::clamp(share, kShortestGap, kLongestGap);
  std::uniform_real_distribution<double> factor(0.5, 1.5);
  return std::max(kShortestGap, milliseconds(static_cast<milliseconds::rep>(
                                    static_cast<double>(mean.count()) * factor(random))));
}

struct ConsumerState {
  std::string name;
  bool alive = true;
  std::string ending;
};

int run(const Settings& settings) {
  const auto started = Clock::now();
  const seconds budget = settings.budget.value_or(
      std::clamp(std::chrono::duration_cast<seconds>(kBudgetPerFault * settings.faults),
                 kShortestBudget, kLongestBudget));
  std::cout << "soak: " << settings.faults << " faults, seed " << settings.seed << ", "
            << settings.rate << " events/s, budget " << budget.count() << " s" << std::endl;

  char scratch_pattern[] = "/tmp/ssekit-soak-XXXXXX";
  if (mkdtemp(scratch_pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::string scratch = scratch_pattern;

  // The system under test: a throwaway database, the bridge on it, a proxy per consumer.
  test::PostgresCluster cluster;
  const std::string database = cluster.create_database();
  BridgeSettings bridge_settings;
  bridge_settings.database_url = database;
  bridge_settings.heartbeat = kHeartbeat;
  bridge_settings.retries = kBridgeRetries;
  FaultInjector injector(cluster, bridge_settings, settings.seed);
  Publisher publisher(database, settings.rate);
  const std::string marker_id = publisher.publish_start_marker();

  FaultProxy tail_proxy("ssetail", injector.bridge_port(), settings.seed + 1);
  FaultProxy client_proxy("client", injector.bridge_port(), settings.seed + 2);
  FaultProxy python_proxy("python", injector.bridge_port(), settings.seed + 3);
  const std::vector<FaultProxy*> proxies = {&tail_proxy, &client_proxy, &python_proxy};
  injector.attach(proxies);
  auto url_of = [](const FaultProxy& proxy) {
    return "http://127.0.0.1:" + std::to_string(proxy.port()) + "/events?channel=" + kSoakChannel;
  };

  // The consumers, each from the event after the start marker.
  DeliveryCheck tail_check("ssetail"), client_check("client"), python_check("python");
  const std::vector<DeliveryCheck*> checks = {&tail_check, &client_check, &python_check};
  ChildConsumer tail(
      "ssetail",
      {settings.ssetail, "--json", "--idle-timeout", std::to_string(kIdleTimeout.count()) + "ms",
       "--backoff-initial", std::to_string(kBackoffInitial.count()) + "ms", "--backoff-max",
       std::to_string(kBackoffMax.count()) + "ms", "--last-event-id", marker_id,
       url_of(tail_proxy)},
      {}, scratch + "/ssetail.err", tail_check);
  ClientConsumer client(url_of(client_proxy), marker_id, client_check, injector,
                        settings.client_log);
  auto as_seconds = [](milliseconds value) {
    return std::to_string(static_cast<double>(value.count()) / 1000.0);
  };
  ChildConsumer python(
      "python",
      {settings.python, settings.python_consumer, "--url", url_of(python_proxy), "--last-event-id",
       marker_id, "--idle-timeout", as_seconds(kIdleTimeout), "--backoff-initial",
       as_seconds(kBackoffInitial), "--backoff-max", as_seconds(kBackoffMax), "--max-seconds",
       std::to_string(budget.count() + kCatchUpWait.count())},
      {{"PYTHONPATH", settings.python_package}}, scratch + "/python.err", python_check);

  auto consumers_alive = [&] { return tail.alive() && client.alive() && python.alive(); };
  auto consumer_states = [&] {
    return std::vector<ConsumerState>{{"ssetail", tail.alive(), tail.ending()},
                                      {"client", client.alive(), client.ending()},
                                      {"python", python.alive(), python.ending()}};
  };

  publisher.start();
  const bool all_started = wait_until(
      [&] {
        return !consumers_alive() || std::all_of(checks.begin(), checks.end(), [](auto* c) {
          return c->delivered_through() >= 1;
        });
      },
      kFirstEventWait);
  if (!all_started || !consumers_alive()) {
    std::cerr << "soak: not every consumer delivered its first event within "
              << kFirstEventWait.count() << " s; ssetail: " << tail.stderr_tail()
              << "\npython: " << python.stderr_tail() << "\nclient: " << client.ending() << '\n';
    return kExitBroken;
  }
  std::cout << "soak: set up in " << seconds_since(started) << " s; injecting faults" << std::endl;

  // The faults: every kind once per round, in a shuffled order, at random moments.
  std::mt19937_64 random(settings.seed);
  std::array<std::uint64_t, kFaultKinds.size()> injected{};
  // Faults are spread to end a tenth of the budget before they must, so that an injection
  // slower than the ones before it does not push the run past its budget.
  const auto fault_deadline = started + budget - kDrainReserve;
  const auto fault_target = fault_deadline - budget / 10;
  milliseconds typical_injection{0};
  int done = 0;
  std::vector<FaultKind> deck;
  std::string stopped_early;
  for (; done < settings.faults; ++done) {
    if (deck.empty()) {
      deck = settings.kinds;
      std::shuffle(deck.begin(), deck.end(), random);
    }
    const auto gap = next_gap(random, fault_target, settings.faults - done, typical_injection);
    if (wait_until([&] { return !consumers_alive(); }, gap)) {
      stopped_early = "a consumer died";
      break;
    }
    if (Clock::now() >= fault_deadline) {
      stopped_early = "the time budget ran out";
      break;
    }
    const FaultKind kind = deck.back();
    deck.pop_back();
    const auto before = Clock::now();
    injector.inject(kind);
    ++injected[static_cast<std::size_t>(kind)];
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - before);
    typical_injection = (typical_injection * 7 + took) / 8;  // a running mean, recent-weighted
    if ((done + 1) % kProgressEvery == 0) {
      std::cout << "soak: " << (done + 1) << " faults, " << publisher.published()
                << " events published, " << seconds_since(started) << " s" << std::endl;
    }
  }
  const double fault_seconds = seconds_since(started);

  // A calm tail, then every consumer catches up with everything published.
  std::this_thread::sleep_for(kCalmTail);
  publisher.stop();
  const std::int64_t published = publisher.published();
  const bool caught_up = wait_until(
      [&] {
        const bool delivered = std::all_of(checks.begin(), checks.end(), [&](auto* c) {
          return c->delivered_through() >= published;
        });
        const bool stalls_settled = std::all_of(proxies.begin(), proxies.end(), [](auto* p) {
          const auto c = p->counters();
          return c.stalled == c.stalls_noticed + c.stalls_unnoticed;
        });
        return (delivered && stalls_settled) || !consumers_alive();
      },
      kCatchUpWait);
  const auto states = consumer_states();
  tail.stop();
  client.stop();
  python.stop();

  // The table itself: every number once.
  test::PgConnection db(database);
  const auto rows = std::stoll(
      db.scalar("SELECT count(*) FROM ssekit_events WHERE channel = $1", {kSoakChannel}));
  const auto distinct = std::stoll(db.scalar(
      "SELECT count(DISTINCT data) FROM ssekit_events WHERE channel = $1", {kSoakChannel}));

  // The report.
  bool failed = false;
  std::ostringstream report;
  report << "\n== soak report (seed " << settings.seed << ") ==\n";
  report << "faults injected: " << done << " of " << settings.faults << " in " << fault_seconds
         << " s";
  if (!stopped_early.empty()) {
    report << " (stopped early: " << stopped_early << ")";
    failed = true;
  }
  report << "\n";
  for (std::size_t k = 0; k < kFaultKinds.size(); ++k) {
    report << "  " << to_string(kFaultKinds[k]) << ": " << injected[k] << " (slowest "
           << injector.slowest(kFaultKinds[k]).count() << " ms to inject)\n";
  }
  report << "events published: " << published << " (" << publisher.ambiguous()
         << " publish calls cut by a fault, resolved from the table; longest publisher outage "
         << publisher.longest_outage().count() << " ms)\n";
  if (!publisher.failure().empty()) {
    report << "  publisher FAILED: " << publisher.failure() << "\n";
    failed = true;
  }
  report << "events in the table: " << rows << " rows, " << distinct << " distinct (expected "
         << published + 1 << " with the start marker)\n";
  if (rows != published + 1 || distinct != rows) failed = true;
  if (!caught_up) {
    report << "consumers did not all catch up within " << kCatchUpWait.count() << " s\n";
    failed = true;
  }

  report << "consumer  delivered  lost  duplicated  reordered  id-regressions  foreign  "
            "longest-silence\n";
  for (auto* check : checks) {
    const auto f = check->figures(published);
    char line[200];
    std::snprintf(line, sizeof line, "%-8s  %9llu  %4llu  %10llu  %9llu  %14llu  %7llu  %.1f s\n",
                  f.consumer.c_str(), static_cast<unsigned long long>(f.delivered),
                  static_cast<unsigned long long>(f.lost),
                  static_cast<unsigned long long>(f.duplicated),
                  static_cast<unsigned long long>(f.reordered),
                  static_cast<unsigned long long>(f.id_regressions),
                  static_cast<unsigned long long>(f.foreign),
                  static_cast<double>(f.longest_silence.count()) / 1000.0);
    report << line;
    for (const auto& anomaly : f.first_anomalies)
      report << "    " << anomaly << "\n";
    if (f.lost != 0 || f.duplicated != 0 || f.reordered != 0 || f.id_regressions != 0 ||
        f.foreign != 0) {
      failed = true;
    }
  }
  for (const auto& state : states) {
    if (!state.alive) {
      report << "consumer " << state.name << " DIED: " << state.ending << "\n";
      failed = true;
    }
  }
  if (!states[0].alive) report << "ssetail stderr:\n" << tail.stderr_tail() << "\n";
  if (!states[2].alive) report << "python stderr:\n" << python.stderr_tail() << "\n";
  for (auto* bad : {&tail, &python}) {
    if (bad->bad_lines() != 0) {
      report << bad->name() << " printed " << bad->bad_lines() << " lines that are not events\n";
      failed = true;
    }
  }

  report << "links per proxy: accepted, reset, cut (inside an event), 503, bridge absent, "
            "stalled (noticed by the watchdog, slowest notice)\n";
  for (auto* proxy : proxies) {
    const auto c = proxy->counters();
    report << "  " << proxy->name() << ": " << c.links << ", " << c.resets << ", " << c.cuts << " ("
           << c.breaks_mid_event << "), " << c.refused_503 << ", " << c.upstream_refused << ", "
           << c.stalled << " (" << c.stalls_noticed << ", " << c.slowest_notice.count() << " ms)\n";
    if (c.stalls_unnoticed != 0 || c.stalled != c.stalls_noticed) {
      report << "    " << c.stalls_unnoticed << " stalled links were never dropped by "
             << proxy->name() << "'s watchdog:\n";
      for (const auto& link : c.unnoticed)
        report << "      " << link << "\n";
      failed = true;
    }
  }

  const auto delays = client.delays();
  char ratios[120];
  std::snprintf(ratios, sizeof ratios, "min %.3f max %.3f (allowed %.1f to 1.0)", delays.min_ratio,
                delays.max_ratio, kJitterFloor);
  report << "C++ client reconnect delays: " << delays.delays << ", ratio to the policy's value "
         << ratios << ", outside: " << delays.outside << "\n  by cause:";
  for (const auto& [cause, count] : delays.by_cause)
    report << " " << cause << " " << count;
  report << "\n";
  for (const auto& outside : delays.first_outside)
    report << "    " << outside << "\n";
  if (delays.outside != 0 || delays.delays == 0) failed = true;

  report << "total time: " << seconds_since(started) << " s\n";
  if (failed) {
    report << "consumer logs kept in " << scratch << "\n";
  } else {
    std::error_code ignored;
    std::filesystem::remove_all(scratch, ignored);
  }
  report << (failed ? "RESULT: FAILED" : "RESULT: passed") << "\n";
  std::cout << report.str() << std::flush;
  return failed ? kExitFailed : 0;
}

}  // namespace
}  // namespace ssekit::soak

int main(int argc, char** argv) {
  // A consumer that went away must not kill the driver when it writes to a closed pipe.
  signal(SIGPIPE, SIG_IGN);
  const auto settings = ssekit::soak::parse(argc, argv);
  if (!settings) {
    ssekit::soak::usage(std::cerr);
    return ssekit::soak::kExitUsage;
  }
  try {
    return ssekit::soak::run(*settings);
  } catch (const std::exception& error) {
    std::cerr << "soak: the run broke down: " << error.what() << '\n';
    return ssekit::soak::kExitBroken;
  }
}
