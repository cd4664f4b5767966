// bridge_process.hpp: the built ssebridge binary, run as a child process for a test.
//
// BridgeProcess starts `ssebridge --listen 127.0.0.1:0 <args>`, reads the port from its
// "listening on" line, and keeps every line of its log so a test can wait for one. The child
// gets the test's environment without DATABASE_URL and SSEBRIDGE_AUTH_SECRET (a test passes
// what it means to), and is terminated when the object is destroyed or the test process dies.
//
//   ssekit::test::BridgeProcess bridge({"--heartbeat", "1s"});
//   httplib::Client http("127.0.0.1", bridge.port());
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ssekit::test {

/// The path of the ssebridge binary under test.
const char* bridge_binary();

/// What a finished run of the binary printed, and how it exited.
struct BridgeRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs ssebridge with `args` to completion (within `timeout`, else it is killed).
BridgeRun run_bridge(const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20),
                     const std::vector<std::pair<std::string, std::string>>& env = {});

class BridgeProcess {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;

  /// Starts the bridge and waits until it listens. Throws, with its log, if it exits first.
  explicit BridgeProcess(std::vector<std::string> args, Env env = {});
  ~BridgeProcess();

  BridgeProcess(const BridgeProcess&) = delete;
  BridgeProcess& operator=(const BridgeProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  /// Waits until a log line containing `text` appears; false after `timeout`.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout);

  /// Everything logged so far.
  std::string log() const;

  /// Sends SIGTERM and waits for the exit; returns the exit code (-1 if killed by a signal).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));

  /// SIGKILL: the bridge dies at once, as in a crash.
  void kill();

 private:
  void read_log(int fd);
  int wait_exit(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int port_ = 0;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string log_;
  bool log_closed_ = false;
};

}  // namespace ssekit::test
