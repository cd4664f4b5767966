// child_process.cpp: fork, exec and a bounded wait for the external programs of the nginx tests.
#include "nginx/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ssekit::test {
namespace {

// How often a wait for an exit looks again; short next to every timeout it serves.
constexpr std::chrono::milliseconds kExitPollInterval{10};

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& output_file) {
  std::vector<std::string> args = argv;
  std::vector<char*> c_argv;
  for (auto& arg : args)
    c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);

  // Opened before fork, so that the child calls nothing but async-signal-safe functions.
  const int output = open(output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (output < 0) throw std::runtime_error("cannot open " + output_file);

  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);  // the test died before prctl took effect
    dup2(output, STDOUT_FILENO);
    dup2(output, STDERR_FILENO);
    execv(c_argv[0], c_argv.data());
    _exit(127);
  }
  close(output);
  if (pid_ < 0) throw std::runtime_error("fork failed for " + argv.front());
}

ChildProcess::~ChildProcess() {
  if (running()) stop(SIGTERM, std::chrono::seconds(10));
}

bool ChildProcess::running() {
  if (exited_ || pid_ <= 0) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
  return !exited_;
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(kExitPollInterval);
  if (running()) {
    // Not reaped yet, so the pid still names our child. SIGKILL cannot be ignored: the
    // blocking reap returns as soon as the kernel has ended it.
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
    exited_ = true;
    return -1;
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

int ChildProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (running()) kill(pid_, signal);
  return wait(timeout);
}

int run_program(const std::vector<std::string>& argv, const std::string& output_file,
                std::chrono::milliseconds timeout) {
  ChildProcess child(argv, output_file);
  return child.wait(timeout);
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace ssekit::test
