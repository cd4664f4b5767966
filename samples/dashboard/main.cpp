// dashboard: a live terminal view of one event stream: its current values, a sparkline of the
// last minute, the connection state, the last event id and a countdown while reconnecting.
//
// It shows the split an app with a UI wants: ssekit's callbacks, on the loop thread, only record
// into a Board; the UI thread draws a snapshot ten times a second and never waits on the network,
// so the screen stays live while the server is down.
//
// Usage: dashboard [--field NAME] [--max-delay SECONDS] [URL]
// Exit codes: 0 quit by the user, 1 the stream failed for good, 2 usage error, 3 options refused
// by the client, 4 stdin or stdout is not a terminal.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include <ssekit/ssekit.hpp>

#include "board.hpp"
#include "screen.hpp"
#include "sparkline.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitStreamFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitBadOptions = 3;
constexpr int kExitNoTerminal = 4;

// ssebridge's demo stream on its default address: `ssebridge` with no arguments serves it.
constexpr const char* kDefaultUrl = "http://127.0.0.1:8080/demo/ticks";
// The demo's ticks carry {"n", "value", "time"}; "value" is the random walk worth charting.
constexpr const char* kDefaultField = "value";
// Ten frames a second: smooth enough for a countdown in tenths, cheap for the terminal.
constexpr std::chrono::milliseconds kFrame{100};
// Bound of --max-delay: the library's own ceiling on a server's retry: is one hour too.
constexpr double kMaxDelayLimitSeconds = 3600;
// The policy counts in milliseconds: anything shorter would round to no delay at all.
constexpr double kMinDelaySeconds = 0.001;
constexpr double kMillisPerSecond = 1000;

// Set by SIGINT and SIGTERM; the UI loop checks it every frame and exits cleanly, so the
// terminal is always restored.
volatile std::sig_atomic_t stop_requested = 0;

extern "C" void request_stop(int /*signal*/) {
  stop_requested = 1;
}

struct Arguments {
  std::string url = kDefaultUrl;
  std::string field = kDefaultField;
  std::optional<std::chrono::milliseconds> max_delay;
};

constexpr const char* kUsage =
    "usage: dashboard [--field NAME] [--max-delay SECONDS] [URL]\n"
    "  URL                 event stream to show (default http://127.0.0.1:8080/demo/ticks)\n"
    "  --field NAME        numeric JSON field to chart (default value)\n"
    "  --max-delay SECONDS ceiling of the reconnect delay (default 30, the library's)\n";

// Parses argv into `arguments`; prints why and returns false on a usage error.
bool parse_arguments(int argc, char** argv, Arguments& arguments) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--field" && has_value) {
      arguments.field = argv[++i];
    } else if (arg == "--max-delay" && has_value) {
      char* end = nullptr;
      const double seconds = std::strtod(argv[++i], &end);
      if (*end != '\0' || !(seconds >= kMinDelaySeconds) || seconds > kMaxDelayLimitSeconds) {
        std::cerr << "dashboard: --max-delay wants seconds in [0.001, 3600], not '" << argv[i]
                  << "'\n";
        return false;
      }
      arguments.max_delay =
          std::chrono::milliseconds(static_cast<long>(seconds * kMillisPerSecond));
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(kExitOk);
    } else if (!arg.empty() && arg[0] != '-') {
      arguments.url = arg;
    } else {
      std::cerr << "dashboard: unknown or incomplete option '" << arg << "'\n" << kUsage;
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // Read the command line.
  Arguments arguments;
  if (!parse_arguments(argc, argv, arguments)) return kExitUsage;

  // Describe the stream. Everything else keeps the library's defaults: reconnect forever with
  // jittered backoff, resume from the last event id, drop a link silent for 45 s.
  ssekit::ClientOptions options;
  options.url = arguments.url;
  if (arguments.max_delay) options.reconnect_policy.max = *arguments.max_delay;

  // Wire the callbacks to the board. They run on the client's loop thread and only record.
  dashboard::Board board(arguments.field, dashboard::kChartWindow);
  ssekit::Client client(options);
  client.on_event([&board](const ssekit::Event& event) {
    board.record_event(event, std::chrono::steady_clock::now());
  });
  client.on_state([&board](const ssekit::StateChange& change) {
    board.record_state(change, std::chrono::steady_clock::now());
  });

  // Start the stream: only invalid options fail here; an unreachable server is retried.
  if (ssekit::Error error = client.start()) {
    std::cerr << "dashboard: " << error.message << '\n';
    return kExitBadOptions;
  }

  // Take the terminal. Signals only raise a flag, so the UI loop restores the terminal on exit.
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  dashboard::Screen screen(arguments.url, arguments.field, kFrame);
  if (!screen.ok()) {
    std::cerr << "dashboard: stdin and stdout must be a terminal\n";
    return kExitNoTerminal;
  }

  // Draw until the user quits. wait_key() waits one frame, so this loop is the frame clock.
  bool failed = false;
  while (stop_requested == 0) {
    const int key = screen.wait_key();
    if (key == 'q' || key == 'Q') break;
    const auto now = std::chrono::steady_clock::now();
    const dashboard::Snapshot snapshot = board.snapshot(now);
    failed = snapshot.failed;
    screen.draw(snapshot, now);
  }

  // Stop the stream before the board it writes to goes away.
  client.close();
  return failed ? kExitStreamFailed : kExitOk;
}
