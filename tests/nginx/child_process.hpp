// child_process.hpp: an external program (openssl, nginx) run by a test, with its output in a
// file, a bounded wait for its exit, and no way to outlive the test process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace ssekit::test {

/// A running child. It gets SIGKILL if the test process dies, and SIGTERM (then SIGKILL) when
/// this object is destroyed while it still runs.
class ChildProcess {
 public:
  /// Starts `argv[0]` (an absolute path) with stdout and stderr appended to `output_file`.
  /// Throws std::runtime_error when fork fails; a program that cannot be executed exits 127.
  ChildProcess(const std::vector<std::string>& argv, const std::string& output_file);
  ~ChildProcess();

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  /// True while the child has not exited. Reaps it when it has.
  bool running();

  /// Waits up to `timeout` for the child to exit; returns its exit status, or -1 when a signal
  /// ended it. After the timeout the child is killed with SIGKILL (and -1 returned).
  int wait(std::chrono::milliseconds timeout);

  /// Sends `signal`, then waits as wait() does.
  int stop(int signal, std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
};

/// Runs a program to completion within `timeout`; returns its exit status (-1 on a signal or a
/// timeout), with its output appended to `output_file`.
int run_program(const std::vector<std::string>& argv, const std::string& output_file,
                std::chrono::milliseconds timeout);

/// The contents of a file, or an empty string when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace ssekit::test
