#include "support/bridge_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <regex>
#include <stdexcept>

extern char** environ;

namespace ssekit::test {
namespace {

// How long a starting bridge may take to print its "listening on" line; generous, because a
// Postgres bridge connects and migrates first, and CI shares two cores among parallel tests.
constexpr std::chrono::seconds kStartTimeout{30};

// The environment of a child: ours, minus the bridge's own settings, plus `extra`.
std::vector<std::string> child_environment(const BridgeProcess::Env& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (entry.rfind("DATABASE_URL=", 0) == 0 || entry.rfind("SSEBRIDGE_AUTH_SECRET=", 0) == 0) {
      continue;
    }
    env.push_back(entry);
  }
  for (const auto& [key, value] : extra)
    env.push_back(key + "=" + value);
  return env;
}

// Forks and execs the bridge with stdout and stderr on pipes (either may be -1: not piped).
pid_t spawn(const std::vector<std::string>& args, const BridgeProcess::Env& extra, int out_fd,
            int err_fd) {
  std::vector<std::string> argv = {bridge_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c_argv;
  for (auto& a : argv)
    c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  std::vector<std::string> env = child_environment(extra);
  std::vector<char*> c_env;
  for (auto& e : env)
    c_env.push_back(e.data());
  c_env.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Dies with the test process, whatever way that ends.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  if (pid < 0) throw std::runtime_error("fork failed");
  return pid;
}

void read_all(int fd, std::string& into) {
  char buffer[4096];
  ssize_t n = 0;
  while ((n = read(fd, buffer, sizeof buffer)) > 0)
    into.append(buffer, static_cast<size_t>(n));
}

}  // namespace

const char* bridge_binary() {
  return SSEBRIDGE_BINARY;
}

BridgeRun run_bridge(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                     const std::vector<std::pair<std::string, std::string>>& env) {
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t pid = spawn(args, env, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  BridgeRun run;
  std::thread err_reader([&] { read_all(err[0], run.err); });
  // Kills the child if it outlives `timeout`; the child is not reaped before `done` is set,
  // so the pid cannot have been reused when the kill is sent.
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  std::thread killer([&] {
    std::unique_lock<std::mutex> lock(mutex);
    if (!finished.wait_for(lock, timeout, [&] { return done; })) ::kill(pid, SIGKILL);
  });
  read_all(out[0], run.out);
  err_reader.join();
  siginfo_t info{};
  waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT);  // exited, not yet reaped
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  finished.notify_all();
  killer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  close(out[0]);
  close(err[0]);
  return run;
}

BridgeProcess::BridgeProcess(std::vector<std::string> args, Env env) {
  int err[2];
  if (pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  bool has_listen = false;
  for (const auto& a : args)
    has_listen |= a == "--listen";
  if (!has_listen) {
    args.insert(args.begin(), {"--listen", "127.0.0.1:0"});
  }
  pid_ = spawn(args, env, -1, err[1]);
  close(err[1]);
  reader_ = std::thread([this, fd = err[0]] { read_log(fd); });

  static const std::regex listening(R"(listening on http://[^ ]*:(\d+))");
  std::unique_lock<std::mutex> lock(mutex_);
  std::smatch match;
  const bool started = changed_.wait_for(lock, kStartTimeout, [&] {
    return std::regex_search(log_, match, listening) || log_closed_;
  });
  if (started && !match.empty()) {
    port_ = std::stoi(match[1]);
    return;
  }
  const std::string log = log_;
  lock.unlock();
  stop(std::chrono::seconds(5));
  throw std::runtime_error("ssebridge did not start listening; its log:\n" + log);
}

BridgeProcess::~BridgeProcess() {
  if (pid_ > 0) stop(std::chrono::seconds(15));
  if (reader_.joinable()) reader_.join();
}

void BridgeProcess::read_log(int fd) {
  char buffer[4096];
  ssize_t n = 0;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    log_.append(buffer, static_cast<size_t>(n));
    changed_.notify_all();
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mutex_);
  log_closed_ = true;
  changed_.notify_all();
}

bool BridgeProcess::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    return log_.find(text) != std::string::npos || log_closed_;
  }) && log_.find(text) != std::string::npos;
}

std::string BridgeProcess::log() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_;
}

int BridgeProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int BridgeProcess::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return wait_exit(timeout);
}

void BridgeProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(std::chrono::seconds(5));
}

}  // namespace ssekit::test
