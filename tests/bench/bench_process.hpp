// bench_process.hpp: what the client benchmarks need from the operating system: child processes
// with pipes on their output, this process's resident memory and CPU time, a higher open-file
// limit, and `--name=value` flags.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ssekit::bench {

/// A child process started with posix_spawnp. Its stdout and stderr go to pipes this object
/// reads, or to /dev/null. The destructor kills (SIGKILL) and reaps a child still running, so no
/// benchmark leaves one behind.
class ChildProcess {
 public:
  enum class Output { pipe, discard, inherit };

  /// Starts argv[0] (searched in PATH) with `argv`. Throws std::runtime_error when it cannot.
  ChildProcess(const std::vector<std::string>& argv, Output out, Output err);
  ~ChildProcess();

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// The next line the child writes on stdout (or stderr), without its LF, waiting at most
  /// `timeout`. Nothing on timeout or when the child closed the stream.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout, bool from_stderr = false);

  struct Exit {
    bool exited = false;  ///< False when the child was killed on the timeout.
    int status = -1;      ///< Exit code, or 128 + signal.
    rusage usage{};       ///< CPU time of the child.
  };

  /// Waits for the child to end, at most `timeout`, then kills it. Returns how it ended.
  Exit wait(std::chrono::milliseconds timeout);

  /// Sends SIGKILL and reaps the child. Idempotent.
  void kill_now();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_pending_;
  std::string err_pending_;
};

/// Resident set size of this process (VmRSS in /proc/self/status), in bytes.
std::size_t resident_bytes();

/// User plus system CPU time this process has used so far.
std::chrono::microseconds process_cpu_time();

/// CPU time of the calling thread so far.
std::chrono::nanoseconds thread_cpu_time();

/// Raises the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit in force afterwards.
std::size_t raise_open_file_limit();

/// The path of the running executable (/proc/self/exe), to start a copy of itself.
std::string self_executable();

/// `--name=value` (or `--name` alone, meaning "1") command-line flags. Each benchmark asks for
/// the flags it knows; unknown() names the rest, so a misspelt flag fails instead of being
/// silently ignored.
class Flags {
 public:
  Flags(int argc, char** argv);

  double number(const std::string& name, double fallback);
  std::string text(const std::string& name, const std::string& fallback);

  /// Flags given on the command line that no number() or text() call asked for.
  std::vector<std::string> unknown() const;

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> asked_;
};

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);

}  // namespace ssekit::bench
