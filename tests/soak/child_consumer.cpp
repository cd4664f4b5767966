// child_consumer.cpp: spawning a consumer process and reading its events.
#include "soak/child_consumer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace ssekit::soak {
namespace {

// Lines longer than this are not one of the soak's events (about 60 bytes): counted as bad.
constexpr std::size_t kLongestLine = 64 * 1024;
// stderr kept for the report of a consumer that died.
constexpr std::size_t kStderrTailBytes = 2000;
// How often stop() looks whether the child has exited.
constexpr std::chrono::milliseconds kReapPoll{10};

}  // namespace

ChildConsumer::ChildConsumer(std::string name, std::vector<std::string> argv, Env env,
                             std::string stderr_path, DeliveryCheck& check)
    : name_(std::move(name)), stderr_path_(std::move(stderr_path)), check_(check) {
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e)
    environment.emplace_back(*e);
  for (const auto& [key, value] : env)
    environment.push_back(key + "=" + value);
  std::vector<char*> c_argv;
  for (auto& a : argv)
    c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  for (auto& e : environment)
    c_env.push_back(e.data());
  c_env.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(name_ + ": pipe failed");
  const int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (err < 0) throw std::runtime_error(name_ + ": cannot write " + stderr_path_);

  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // Only async-signal-safe calls here: the soak has threads. The child dies with the soak.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    dup2(out[1], STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  close(out[1]);
  close(err);
  if (pid_ < 0) {
    close(out[0]);
    throw std::runtime_error(name_ + ": fork failed");
  }
  reader_ = std::thread([this, fd = out[0]] { read_stdout(fd); });
}

ChildConsumer::~ChildConsumer() {
  stop();
}

void ChildConsumer::read_stdout(int fd) {
  std::string pending;
  char buffer[8192];
  ssize_t n = 0;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) {
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t end = pending.find('\n'); end != std::string::npos;
         end = pending.find('\n', start)) {
      const std::string line = pending.substr(start, end - start);
      start = end + 1;
      const auto event = nlohmann::json::parse(line, nullptr, false);
      if (event.is_discarded() || !event.is_object() || !event.contains("event") ||
          !event.contains("data") || !event.contains("id") || !event["event"].is_string() ||
          !event["data"].is_string() || !event["id"].is_string()) {
        bad_lines_.fetch_add(1);
        continue;
      }
      check_.record(event["event"].get<std::string>(), event["data"].get<std::string>(),
                    event["id"].get<std::string>());
    }
    pending.erase(0, start);
    if (pending.size() > kLongestLine) {
      bad_lines_.fetch_add(1);
      pending.clear();
    }
  }
  close(fd);
  ended_.store(true);
}

void ChildConsumer::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0 && !reaped_) {
    stopping_.store(true);
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (waitpid(pid_, &status_, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status_, 0);
        break;
      }
      std::this_thread::sleep_for(kReapPoll);
    }
    reaped_ = true;
  }
  if (reader_.joinable()) reader_.join();
}

std::string ChildConsumer::ending() const {
  if (!reaped_) return "";
  if (WIFEXITED(status_)) return "exit " + std::to_string(WEXITSTATUS(status_));
  if (WIFSIGNALED(status_)) return "signal " + std::to_string(WTERMSIG(status_));
  return "unknown";
}

std::string ChildConsumer::stderr_tail() const {
  std::ifstream in(stderr_path_);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > kStderrTailBytes ? all.substr(all.size() - kStderrTailBytes) : all;
}

}  // namespace ssekit::soak
