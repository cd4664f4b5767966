// Filtering, printing, resume bookkeeping and counting of events.
#include "tail.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "exit_status.hpp"
#include "signals.hpp"
#include "status_log.hpp"

namespace ssetail {

Tail::Tail(EventWriter writer, std::vector<std::string> event_types,
           std::optional<std::uint64_t> max_events, std::optional<ResumeFile> resume_file)
    : writer_(std::move(writer)),
      event_types_(std::move(event_types)),
      max_events_(max_events),
      resume_file_(std::move(resume_file)) {}

bool Tail::wanted(const ssekit::Event& event) const {
  return event_types_.empty() ||
         std::find(event_types_.begin(), event_types_.end(), event.type) != event_types_.end();
}

TailStatus Tail::accept(const ssekit::Event& event) {
  if (status_ != TailStatus::more || !wanted(event)) return status_;

  switch (writer_.write(event)) {
    case WriteStatus::written:
      break;
    case WriteStatus::broken_pipe:
      return status_ = TailStatus::broken_pipe;
    case WriteStatus::interrupted:
      return status_ = TailStatus::interrupted;
    case WriteStatus::failed:
      error_ =
          std::string("cannot write to standard output: ") + std::strerror(writer_.errno_value());
      return status_ = TailStatus::failed;
  }

  // The id is stored after the event is out: a crash in between prints it once more on the
  // next run rather than losing it.
  if (resume_file_ && !resume_file_->store(event.id, error_)) return status_ = TailStatus::failed;

  ++printed_;
  if (max_events_ && printed_ >= *max_events_) status_ = TailStatus::enough;
  return status_;
}

int exit_status_for(const Tail& tail, const StatusLog& log) {
  switch (tail.status()) {
    case TailStatus::more:
    case TailStatus::enough:
    case TailStatus::broken_pipe:
      return kExitDone;
    case TailStatus::interrupted:
      return stop_exit_status();
    case TailStatus::failed:
      log.error(tail.error());
      return kExitFailed;
  }
  return kExitFailed;
}

}  // namespace ssetail
