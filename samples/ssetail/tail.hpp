// The end of ssetail's pipeline, shared by the URL and stdin modes: filter an event by type,
// print it, remember its id in the --resume file and count it against --max-events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "output.hpp"
#include "resume_file.hpp"
#include "ssekit/event.hpp"

namespace ssetail {

/// Where the tail stands after an event.
enum class TailStatus {
  more,         ///< Keep going.
  enough,       ///< --max-events reached: exit 0.
  broken_pipe,  ///< The reader of stdout went away: exit 0 quietly.
  interrupted,  ///< A signal arrived while stdout was full.
  failed,       ///< Writing stdout or the resume file failed; error() says why.
};

class Tail {
 public:
  Tail(EventWriter writer, std::vector<std::string> event_types,
       std::optional<std::uint64_t> max_events, std::optional<ResumeFile> resume_file);

  /// Handles one event. Once the status is not `more`, later events are ignored and the same
  /// status is returned: nothing is printed after the end.
  TailStatus accept(const ssekit::Event& event);

  /// From now on, printed events may be held until flush(): for events that arrive in batches.
  void hold_output() { writer_.hold(true); }

  /// Writes held events and records the last one's id in the resume file.
  TailStatus flush();

  TailStatus status() const { return status_; }
  const std::string& error() const { return error_; }

 private:
  bool wanted(const ssekit::Event& event) const;
  TailStatus settle(WriteStatus written);

  EventWriter writer_;
  std::vector<std::string> event_types_;
  std::optional<std::uint64_t> max_events_;
  std::optional<ResumeFile> resume_file_;
  std::optional<std::string> unstored_id_;  // id of a printed event not yet in the resume file
  std::uint64_t printed_ = 0;
  TailStatus status_ = TailStatus::more;
  std::string error_;
};

class StatusLog;

/// The exit status for a tail that stopped with `tail.status()` (not `more`), reporting a
/// failure on `log`.
int exit_status_for(const Tail& tail, const StatusLog& log);

}  // namespace ssetail
