// bench_process.cpp: child processes, resource figures and flags for the client benchmarks.
#include "bench_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace ssekit::bench {
namespace {

using Clock = std::chrono::steady_clock;

// How often wait() looks whether the child has ended: short against any run we time (the
// timings come from the child's own report or from our side, never from this polling).
constexpr auto kReapPollInterval = std::chrono::milliseconds(2);

// Bytes taken from a pipe per read().
constexpr std::size_t kPipeReadSize = 4096;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Points fd `target` (1 or 2) of the child at `output`. For a pipe, `parent_end` receives the
// end this process reads and `child_end` the one to close once the child has started.
void plan_output(posix_spawn_file_actions_t& actions, ChildProcess::Output output, int target,
                 int& parent_end, int& child_end) {
  switch (output) {
    case ChildProcess::Output::inherit:
      return;
    case ChildProcess::Output::discard:
      posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0);
      return;
    case ChildProcess::Output::pipe: {
      int ends[2];
      if (pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
      posix_spawn_file_actions_adddup2(&actions, ends[1], target);
      parent_end = ends[0];
      child_end = ends[1];
      return;
    }
  }
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, Output out, Output err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int out_child_end = -1;
  int err_child_end = -1;
  plan_output(actions, out, STDOUT_FILENO, out_fd_, out_child_end);
  plan_output(actions, err, STDERR_FILENO, err_fd_, err_child_end);
  // Sockets of this process (libcurl's, the bench server's) must not live on in the child: a
  // restarted server holding a client's socket would keep that connection half alive.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);

  std::vector<char*> args;
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);

  close_fd(out_child_end);
  close_fd(err_child_end);
  if (rc != 0) {
    close_fd(out_fd_);
    close_fd(err_fd_);
    pid_ = -1;
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
}

ChildProcess::~ChildProcess() {
  kill_now();
  close_fd(out_fd_);
  close_fd(err_fd_);
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout,
                                                   bool from_stderr) {
  const int fd = from_stderr ? err_fd_ : out_fd_;
  std::string& pending = from_stderr ? err_pending_ : out_pending_;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const std::size_t end = pending.find('\n');
    if (end != std::string::npos) {
      std::string line = pending.substr(0, end);
      pending.erase(0, end + 1);
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (fd < 0 || left.count() <= 0) return std::nullopt;

    pollfd ready{fd, POLLIN, 0};
    const int polled = ::poll(&ready, 1, static_cast<int>(left.count()));
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0) return std::nullopt;
    char buffer[kPipeReadSize];
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got <= 0) return std::nullopt;  // the child closed its end
    pending.append(buffer, static_cast<std::size_t>(got));
  }
}

ChildProcess::Exit ChildProcess::wait(std::chrono::milliseconds timeout) {
  Exit exit;
  if (pid_ < 0) return exit;
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = ::wait4(pid_, &status, WNOHANG, &exit.usage);
    if (done == pid_) break;
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::wait4(pid_, &status, 0, &exit.usage);
      pid_ = -1;
      return exit;
    }
    std::this_thread::sleep_for(kReapPollInterval);
  }
  pid_ = -1;
  exit.exited = WIFEXITED(status);
  exit.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit;
}

void ChildProcess::kill_now() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return static_cast<std::size_t>(std::strtoull(line.c_str() + 6, nullptr, 10)) * 1024;
    }
  }
  return 0;
}

std::chrono::microseconds process_cpu_time() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto to_us = [](const timeval& t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return to_us(usage.ru_utime) + to_us(usage.ru_stime);
}

std::chrono::nanoseconds thread_cpu_time() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

std::size_t raise_open_file_limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<std::size_t>(limit.rlim_cur);
}

std::string self_executable() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  return std::string(path, static_cast<std::size_t>(n));
}

Flags::Flags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      values_[arg] = "";  // not a flag: unknown() reports it
      continue;
    }
    arg.erase(0, 2);
    const std::size_t equals = arg.find('=');
    if (equals == std::string::npos) {
      values_[arg] = "1";
    } else {
      values_[arg.substr(0, equals)] = arg.substr(equals + 1);
    }
  }
}

double Flags::number(const std::string& name, double fallback) {
  asked_[name] = true;
  const auto found = values_.find(name);
  if (found == values_.end()) return fallback;
  char* end = nullptr;
  const double value = std::strtod(found->second.c_str(), &end);
  if (end == found->second.c_str() || *end != '\0') {
    throw std::invalid_argument("--" + name + " needs a number, not '" + found->second + "'");
  }
  return value;
}

std::string Flags::text(const std::string& name, const std::string& fallback) {
  asked_[name] = true;
  const auto found = values_.find(name);
  return found == values_.end() ? fallback : found->second;
}

std::vector<std::string> Flags::unknown() const {
  std::vector<std::string> names;
  for (const auto& [name, value] : values_) {
    if (asked_.count(name) == 0) names.push_back(name);
  }
  return names;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  if (values.size() % 2 == 1) return values[middle];
  return (values[middle - 1] + values[middle]) / 2;
}

}  // namespace ssekit::bench
