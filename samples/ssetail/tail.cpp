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

  unstored_id_ = event.id;
  if (settle(writer_.write(event)) != TailStatus::more) return status_;

  ++printed_;
  if (max_events_ && printed_ >= *max_events_ && flush() == TailStatus::more) {
    status_ = TailStatus::enough;
  }
  return status_;
}

TailStatus Tail::flush() {
  if (status_ != TailStatus::more && status_ != TailStatus::enough) return status_;
  if (!writer_.has_held()) return status_;
  return settle(writer_.flush());
}

TailStatus Tail::settle(WriteStatus written) {
  switch (written) {
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

  // The id is stored once its event is out: a crash in between prints that event once more on
  // the next run rather than losing it.
  if (writer_.has_held() || !unstored_id_) return status_;
  if (resume_file_ && !resume_file_->store(*unstored_id_, error_)) {
    return status_ = TailStatus::failed;
  }
  unstored_id_.reset();
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
