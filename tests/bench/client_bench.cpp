// client_bench: end-to-end throughput of ssekit::Client over loopback, beside the curl command
// line reading the same stream from the same server, with the ratio printed in the same run.
//
//   client_bench [--scale=1] [--repetitions=3] [--read-buffer-bytes=0] [--curl=curl]
//                [--only=small/64k|small/event|4k/64k|4k/event]
//
// Four cases: 1,000,000 small events and 20,000 events of 4 KiB, each sent in 64 KiB HTTP
// chunks and with one HTTP chunk per event. ssekit reads and parses every event into a callback
// that counts; `curl -sN URL > /dev/null` writes the body to /dev/null (with -N, one write per
// chunk it receives). The figures are medians over the repetitions. The test suite runs it at
// --scale=0.001 as a smoke test: it exits non-zero only when a run lost events or bytes.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "bench_process.hpp"
#include "bench_server.hpp"
#include "ssekit/client.hpp"

namespace {

using ssekit::bench::Chunking;
using ssekit::bench::EventStream;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kSmallEvents = 1000000;
constexpr std::size_t kLargeEvents = 20000;

// A run that has not finished by then is reported as failed (a stalled server or client).
constexpr auto kRunTimeout = std::chrono::seconds(120);

constexpr double kBytesPerMegabyte = 1e6;

struct Case {
  const EventStream* stream;
  Chunking chunking;
  double target;  // least ratio ssekit/curl of byte rates the issue asks for
  const char* target_text;
};

struct Run {
  bool ok = false;
  double seconds = 0;
  double cpu_seconds = 0;
  std::uint64_t bytes = 0;
  std::uint64_t events = 0;
};

struct Figures {
  std::vector<double> ssekit_seconds, curl_seconds, ssekit_cpu, curl_cpu;
  std::uint64_t bytes = 0;
  bool ok = true;
};

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Reads `url` with ssekit until the server ends the stream. The time runs from start() to the
// closed state; the CPU time is the loop thread's between its first and last callback.
Run read_with_ssekit(const std::string& url, std::size_t read_buffer_bytes) {
  ssekit::ClientOptions options;
  options.url = url;
  options.reconnect = false;  // the end of the stream ends the run
  options.read_buffer_bytes = read_buffer_bytes;

  std::mutex mutex;
  std::condition_variable closed_cv;
  bool closed = false;
  ssekit::ErrorCode close_code = ssekit::ErrorCode::ok;
  std::uint64_t events = 0;
  std::chrono::nanoseconds cpu_at_connect{0}, cpu_at_close{0};
  Clock::time_point closed_at;

  ssekit::Client client(options);
  client.on_event([&](const ssekit::Event&) { ++events; });  // the loop thread alone counts
  client.on_state([&](const ssekit::StateChange& change) {
    if (change.state == ssekit::State::connecting)
      cpu_at_connect = ssekit::bench::thread_cpu_time();
    if (change.state != ssekit::State::closed) return;
    cpu_at_close = ssekit::bench::thread_cpu_time();
    std::lock_guard<std::mutex> lock(mutex);
    closed_at = Clock::now();
    close_code = change.reason.code;
    closed = true;
    closed_cv.notify_all();
  });

  Run run;
  const auto started_at = Clock::now();
  if (client.start()) return run;
  {
    std::unique_lock<std::mutex> lock(mutex);
    if (!closed_cv.wait_for(lock, kRunTimeout, [&] { return closed; })) return run;
  }
  run.seconds = seconds_between(started_at, closed_at);
  run.cpu_seconds = std::chrono::duration<double>(cpu_at_close - cpu_at_connect).count();
  run.bytes = client.stats().bytes;
  run.events = events;
  run.ok = close_code == ssekit::ErrorCode::stream_ended;
  return run;
}

// Runs `curl -sN URL > /dev/null`. curl reports its own transfer time on stderr (-w), which
// leaves out the start of the process, as ssekit's time leaves out loading the program.
Run read_with_curl(const std::string& curl, const std::string& url) {
  using ssekit::bench::ChildProcess;
  ChildProcess child({curl, "-sN", "-w", "%{stderr}%{time_total} %{size_download}\\n", url},
                     ChildProcess::Output::discard, ChildProcess::Output::pipe);
  const auto report = child.read_line(kRunTimeout, /*from_stderr=*/true);
  const auto exit = child.wait(kRunTimeout);

  Run run;
  double size = 0;
  if (!report || std::sscanf(report->c_str(), "%lf %lf", &run.seconds, &size) != 2) return run;
  const auto cpu = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  run.cpu_seconds = cpu(exit.usage.ru_utime) + cpu(exit.usage.ru_stime);
  run.bytes = static_cast<std::uint64_t>(size);
  run.ok = exit.exited && exit.status == 0;
  return run;
}

const char* chunking_name(Chunking chunking) {
  return chunking == Chunking::block_64k ? "64 KiB" : "1/event";
}

void print_run(const char* reader, const Case& c, const Run& run) {
  std::printf("  %-6s %-6s %-8s %8.3f s  cpu %7.3f s  %12llu bytes%s\n", reader,
              c.stream->name.c_str(), chunking_name(c.chunking), run.seconds, run.cpu_seconds,
              static_cast<unsigned long long>(run.bytes), run.ok ? "" : "  FAILED");
}

// Checks a run delivered the whole stream: every byte, and for ssekit every event.
bool complete(const Run& run, const Case& c, bool counts_events) {
  return run.ok && run.bytes == c.stream->body.size() &&
         (!counts_events || run.events == c.stream->events);
}

double fastest(const std::vector<double>& seconds) {
  return seconds.empty() ? 0 : *std::min_element(seconds.begin(), seconds.end());
}

// `curl_start_cpu`: the CPU time curl spends on an empty stream (its process start, libcurl's
// and OpenSSL's initialisation), taken off each curl run's so both sides count the transfer
// alone.
void print_table(const std::vector<Case>& cases, const std::vector<Figures>& figures,
                 double curl_start_cpu) {
  std::printf("\n%-16s %-8s %11s %10s %9s %10s %6s %6s %6s %8s\n", "stream", "chunks",
              "ssekit MB/s", "events/s", "curl MB/s", "events/s", "ratio", "best", "cpu", "target");
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const Figures& f = figures[i];
    const double ssekit_s = ssekit::bench::median(f.ssekit_seconds);
    const double curl_s = ssekit::bench::median(f.curl_seconds);
    const double mb = static_cast<double>(f.bytes) / kBytesPerMegabyte;
    const double events = static_cast<double>(c.stream->events);
    const double ratio = ssekit_s > 0 ? curl_s / ssekit_s : 0;
    const double best =
        fastest(f.ssekit_seconds) > 0 ? fastest(f.curl_seconds) / fastest(f.ssekit_seconds) : 0;
    const double ssekit_cpu = ssekit::bench::median(f.ssekit_cpu);
    const double curl_cpu = std::max(0.0, ssekit::bench::median(f.curl_cpu) - curl_start_cpu);
    const double cpu_ratio = ssekit_cpu > 0 ? curl_cpu / ssekit_cpu : 0;
    const std::string label = std::to_string(c.stream->events) + " x " +
                              std::to_string(c.stream->body.size() / c.stream->events) + " B";
    std::printf("%-16s %-8s %11.0f %10.0f %9.0f %10.0f %6.2f %6.2f %6.2f %8s%s\n", label.c_str(),
                chunking_name(c.chunking), mb / ssekit_s, events / ssekit_s, mb / curl_s,
                events / curl_s, ratio, best, cpu_ratio, c.target_text,
                f.ok ? "" : "  (runs failed)");
  }
  std::printf(
      "\nratio: ssekit's byte rate / curl's, from the median seconds of each; best: the same from\n"
      "the fastest run of each; cpu: curl's CPU seconds / ssekit's (its loop thread), medians,\n"
      "less the %.3f s curl spends on an empty stream. Above 1 ssekit is ahead. Events/s for\n"
      "curl: the stream's event count over curl's time (curl does not parse). The targets\n"
      "apply to ratio.\n",
      curl_start_cpu);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    ssekit::bench::Flags flags(argc, argv);
    const double scale = flags.number("scale", 1.0);
    const int repetitions = static_cast<int>(flags.number("repetitions", 3));
    const std::string curl = flags.text("curl", "curl");
    const std::string only = flags.text("only", "");  // one case, to profile it alone
    // 0: ssekit's default (libcurl's 16 KiB). The curl command line reads 100 KiB at a time.
    const auto read_buffer_bytes = static_cast<std::size_t>(flags.number("read-buffer-bytes", 0));
    if (!flags.unknown().empty()) {
      std::fprintf(stderr, "unknown flag --%s\n", flags.unknown().front().c_str());
      return 2;
    }
    const auto scaled = [&](std::size_t n) {
      return std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(n) * scale));
    };

    std::vector<EventStream> streams;
    streams.push_back(ssekit::bench::small_event_stream(scaled(kSmallEvents)));
    streams.push_back(ssekit::bench::large_event_stream(scaled(kLargeEvents)));
    const ssekit::bench::ThroughputServer server(std::move(streams));
    const EventStream& small = server.streams()[0];
    const EventStream& large = server.streams()[1];

    // Targets from the issue: 0.6 and 0.95 of curl's byte rate with 64 KiB chunks, faster than
    // curl with a chunk per event (curl writes each chunk to stdout; ssekit must not pay per
    // chunk).
    std::vector<Case> cases = {
        {&small, Chunking::block_64k, 0.6, ">= 0.60"},
        {&small, Chunking::per_event, 1.0, "> 1"},
        {&large, Chunking::block_64k, 0.95, ">= 0.95"},
        {&large, Chunking::per_event, 1.0, "> 1"},
    };
    if (!only.empty()) {
      const auto named = [&](const Case& c) {
        const char* chunks = c.chunking == Chunking::block_64k ? "64k" : "event";
        return c.stream->name + "/" + chunks == only;
      };
      cases.erase(
          std::remove_if(cases.begin(), cases.end(), [&](const Case& c) { return !named(c); }),
          cases.end());
      if (cases.empty()) {
        std::fprintf(stderr, "no case named %s\n", only.c_str());
        return 2;
      }
    }
    std::vector<Figures> figures(cases.size());

    std::printf(
        "client_bench: %d repetition(s), scale %.3g, ssekit read buffer %s, "
        "server and clients on 127.0.0.1\n",
        repetitions, scale,
        read_buffer_bytes == 0 ? "default" : std::to_string(read_buffer_bytes).c_str());
    std::vector<double> curl_start_cpu;
    for (int rep = 0; rep < repetitions; ++rep) {
      std::printf("repetition %d\n", rep + 1);
      curl_start_cpu.push_back(read_with_curl(curl, server.empty_url()).cpu_seconds);
      for (std::size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        const std::string url = server.url(c.stream->name, c.chunking);
        // Alternate who goes first, so neither always meets a warm or a cold cache.
        Run ours, theirs;
        if (rep % 2 == 0) {
          ours = read_with_ssekit(url, read_buffer_bytes);
          theirs = read_with_curl(curl, url);
        } else {
          theirs = read_with_curl(curl, url);
          ours = read_with_ssekit(url, read_buffer_bytes);
        }
        print_run("ssekit", c, ours);
        print_run("curl", c, theirs);

        Figures& f = figures[i];
        f.ok = f.ok && complete(ours, c, true) && complete(theirs, c, false);
        f.bytes = c.stream->body.size();
        f.ssekit_seconds.push_back(ours.seconds);
        f.curl_seconds.push_back(theirs.seconds);
        f.ssekit_cpu.push_back(ours.cpu_seconds);
        f.curl_cpu.push_back(theirs.cpu_seconds);
      }
    }
    print_table(cases, figures, ssekit::bench::median(curl_start_cpu));

    for (const Figures& f : figures) {
      if (!f.ok) return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "client_bench: %s\n", e.what());
    return 1;
  }
}
