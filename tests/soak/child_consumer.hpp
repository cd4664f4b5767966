// child_consumer.hpp: a consumer that runs as a child process and prints one JSON event a line.
//
// The soak runs `ssetail --json` and the Python EventSource consumer this way. Each line of the
// child's stdout is an object with `event`, `data` and `id` (ssetail's --json form), handed to
// a DeliveryCheck; stderr goes to a file kept for the report when the child dies. The child is
// killed with the soak (PR_SET_PDEATHSIG), so no consumer outlives a crashed run.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "soak/delivery_check.hpp"

namespace ssekit::soak {

class ChildConsumer {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;

  /// Starts `argv` (argv[0] a path) with `env` added to this process's environment, stderr to
  /// `stderr_path`. Every stdout line goes to `check`. Throws std::runtime_error on failure.
  ChildConsumer(std::string name, std::vector<std::string> argv, Env env, std::string stderr_path,
                DeliveryCheck& check);
  /// Stops the child (as stop()).
  ~ChildConsumer();

  ChildConsumer(const ChildConsumer&) = delete;
  ChildConsumer& operator=(const ChildConsumer&) = delete;

  /// True while the child runs and its stdout is open.
  bool alive() const { return !ended_.load(); }

  /// SIGTERM, then SIGKILL after `grace`; reaps the child. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

  /// How the child ended, for the report: "exit 0", "signal 9", or "" while it runs.
  std::string ending() const;
  /// Lines of stdout that were not an event object.
  std::uint64_t bad_lines() const { return bad_lines_.load(); }
  /// The last lines of its stderr (for a consumer that died).
  std::string stderr_tail() const;
  const std::string& name() const { return name_; }

 private:
  void read_stdout(int fd);

  const std::string name_;
  const std::string stderr_path_;
  DeliveryCheck& check_;
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::atomic<bool> ended_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> bad_lines_{0};
  std::thread reader_;
};

}  // namespace ssekit::soak
