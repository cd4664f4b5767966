// Reading an event stream from standard input.
#include "stdin_stream.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "exit_status.hpp"
#include "signals.hpp"
#include "ssekit/parser.hpp"

namespace ssetail {
namespace {

/// Bytes read per call: a pipe holds 64 KiB by default, so one read drains a full pipe.
constexpr std::size_t kReadBytes = 64 * 1024;

/// How often a quiet input is interrupted to look at the stop flag.
constexpr int kStopCheckIntervalMs = 100;

/// Hands the parser's findings to the tail and its limit errors to the log.
class TailHandler : public ssekit::EventParser::Handler {
 public:
  TailHandler(Tail& tail, const StatusLog& log) : tail_(tail), log_(log) {}

  void on_event(const ssekit::Event& event) override { tail_.accept(event); }

  void on_error(const ssekit::Error& error) override {
    log_.notice("skipped part of the input: " + error.message);
  }

 private:
  Tail& tail_;
  const StatusLog& log_;
};

}  // namespace

int tail_stdin(const std::optional<std::string>& start_id, Tail& tail, const StatusLog& log) {
  ssekit::EventParser parser;
  if (start_id) parser.set_last_event_id(*start_id);
  TailHandler handler(tail, log);
  std::vector<char> buffer(kReadBytes);

  // The events of one read arrived together: one write for all of them loses no liveness and
  // saves a system call per event on a capture. Each read's events are out before the next read.
  tail.hold_output();

  while (tail.status() == TailStatus::more) {
    if (stop_requested()) return stop_exit_status();

    // Wait with a timeout rather than block in read(): a signal that lands just before a
    // blocking read would otherwise go unnoticed until the next byte.
    pollfd input{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&input, 1, kStopCheckIntervalMs);
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;

    const ssize_t got = ready < 0 ? -1 : ::read(STDIN_FILENO, buffer.data(), buffer.size());
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) {
      log.error(std::string("cannot read standard input: ") + std::strerror(errno));
      return kExitFailed;
    }
    if (got == 0) return kExitDone;  // an event without its blank line is dropped, as the spec says

    parser.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)), handler);
    tail.flush();
  }
  return exit_status_for(tail, log);
}

}  // namespace ssetail
