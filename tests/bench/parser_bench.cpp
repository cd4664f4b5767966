// parser_bench: EventParser throughput on three generated streams, beside the ceiling of a
// plain memchr() scan for '\n' over the same bytes, with the ratio printed in the same run.
//
//   parser_bench [--stream_scale=F] [Google Benchmark flags]
//
// --stream_scale shrinks the streams (the test suite runs it at 0.01 as a smoke test).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bench_server.hpp"
#include "ssekit/parser.hpp"

namespace {

constexpr std::size_t kReadSize = 64 * 1024;  // what one socket read hands the parser

// The streams, at full scale.
constexpr std::size_t kSmallEvents = 1000000;
constexpr std::size_t kLargeEvents = 20000;
constexpr std::size_t kCrlfEvents = 200000;
constexpr std::size_t kCommentEvery = 10;

double g_scale = 1.0;

std::size_t scaled(std::size_t count) {
  const auto n = static_cast<std::size_t>(static_cast<double>(count) * g_scale);
  return n == 0 ? 1 : n;
}

// CRLF line ends, multi-line data and a comment heartbeat every ten events.
std::string crlf_stream() {
  std::string stream;
  for (std::size_t i = 0; i < scaled(kCrlfEvents); ++i) {
    if (i % kCommentEvery == 0) stream += ": keep-alive\r\n";
    stream += "id: " + std::to_string(i) + "\r\nevent: update\r\n";
    stream += "data: {\"row\":" + std::to_string(i) + ",\r\ndata: \"state\":\"ok\"}\r\n\r\n";
  }
  return stream;
}

const std::string& stream_named(const std::string& name) {
  static std::map<std::string, std::string> streams;
  auto it = streams.find(name);
  if (it != streams.end()) return it->second;
  // The same bytes client_bench sends over loopback, so the two benchmarks compare.
  if (name == "small")
    return streams[name] = ssekit::bench::small_event_stream(scaled(kSmallEvents)).body;
  if (name == "4k")
    return streams[name] = ssekit::bench::large_event_stream(scaled(kLargeEvents)).body;
  return streams[name] = crlf_stream();
}

struct CountingHandler : ssekit::EventParser::Handler {
  std::size_t events = 0;
  std::size_t data_bytes = 0;
  void on_event(const ssekit::Event& event) override {
    ++events;
    data_bytes += event.data.size();
  }
};

void BM_parse(benchmark::State& state, const std::string& name) {
  const std::string& stream = stream_named(name);
  std::size_t events = 0;

  for (auto _ : state) {
    ssekit::EventParser parser;
    CountingHandler handler;
    for (std::size_t at = 0; at < stream.size(); at += kReadSize) {
      parser.feed(std::string_view(stream).substr(at, kReadSize), handler);
    }
    benchmark::DoNotOptimize(handler.data_bytes);
    events = handler.events;
  }

  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

// The ceiling: find every '\n' with memchr and do nothing else.
void BM_memchr(benchmark::State& state, const std::string& name) {
  const std::string& stream = stream_named(name);
  std::size_t lines = 0;

  for (auto _ : state) {
    lines = 0;
    const char* p = stream.data();
    const char* const end = p + stream.size();
    while (const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(end - p))) {
      ++lines;
      p = static_cast<const char*>(hit) + 1;
    }
    benchmark::DoNotOptimize(lines);
  }

  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.counters["lines/s"] =
      benchmark::Counter(static_cast<double>(lines), benchmark::Counter::kIsIterationInvariantRate);
}

// Prints as usual and remembers bytes/s per benchmark, for the ratio table at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> bytes_per_second;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      // With --benchmark_repetitions the median speaks for the runs; otherwise the one run.
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type != Run::RT_Iteration && !median) continue;
      auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) bytes_per_second[run.run_name.str()] = it->second;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

// Takes --stream_scale=F out of argv before Google Benchmark sees it.
void take_scale_flag(int& argc, char** argv) {
  constexpr std::string_view kFlag = "--stream_scale=";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, kFlag.size()) == kFlag) {
      g_scale = std::stod(std::string(arg.substr(kFlag.size())));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
}

}  // namespace

int main(int argc, char** argv) {
  take_scale_flag(argc, argv);

  const struct {
    const char* name;
    const char* label;
    double target;  // the floor for parse / memchr
  } streams[] = {
      {"small", "1M small JSON events", 0.25},
      {"4k", "20k events of 4 KiB", 0.50},
      {"crlf", "CRLF, comments, multi-line", 0.0},
  };
  for (const auto& s : streams) {
    const std::string name = s.name;
    benchmark::RegisterBenchmark(("parse/" + name).c_str(), BM_parse, name)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("memchr/" + name).c_str(), BM_memchr, name)
        ->Unit(benchmark::kMillisecond);
  }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::printf("\n%-30s %12s %12s %8s %8s\n", "stream", "parse MB/s", "memchr MB/s", "ratio",
              "target");
  for (const auto& s : streams) {
    const double parse = reporter.bytes_per_second["parse/" + std::string(s.name)];
    const double ceiling = reporter.bytes_per_second["memchr/" + std::string(s.name)];
    if (parse <= 0 || ceiling <= 0) continue;
    std::printf("%-30s %12.0f %12.0f %8.2f %8s\n", s.label, parse / 1e6, ceiling / 1e6,
                parse / ceiling,
                s.target > 0 ? std::to_string(s.target).substr(0, 4).c_str() : "-");
  }
  return 0;
}
