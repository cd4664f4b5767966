// ssetail: `tail -f` for Server-Sent Events, built on ssekit.
// Shows the Client's reconnect, resume and watchdog from the command line; docs/ssetail.md.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "cli.hpp"
#include "exit_status.hpp"
#include "http_stream.hpp"
#include "output.hpp"
#include "resume_file.hpp"
#include "signals.hpp"
#include "ssekit/version.hpp"
#include "status_log.hpp"
#include "stdin_stream.hpp"
#include "tail.hpp"

int main(int argc, char** argv) {
  using namespace ssetail;

  // Step 1: the command line. Help, version and usage errors end here.
  const CommandLine line = parse_command_line(argc, argv, std::getenv("SSETAIL_BEARER"));
  switch (line.action) {
    case CommandAction::help:
      std::fputs(usage_text(), stdout);
      return kExitDone;
    case CommandAction::version:
      std::printf("ssetail %s (ssekit %s)\n", SSEKIT_VERSION, ssekit::version());
      return kExitDone;
    case CommandAction::usage_error:
      std::fprintf(stderr, "ssetail: %s\n%s\n", line.error.c_str(), kHelpHint);
      return kExitUsage;
    case CommandAction::run:
      break;
  }
  const TailOptions& options = line.options;
  const StatusLog log(options.verbosity, secrets_of(options));

  // Step 2: signals, before the client starts its thread, so every thread ignores SIGPIPE.
  install_signal_handlers();

  // Step 3: where to resume from: --last-event-id, else the id kept in the --resume file.
  std::optional<ResumeFile> resume_file;
  std::optional<std::string> start_id = options.last_event_id;
  if (!options.resume_path.empty()) {
    resume_file.emplace(options.resume_path);
    std::optional<std::string> stored;
    std::string error;
    if (!resume_file->load(stored, error)) {
      log.error(error);
      return kExitFailed;
    }
    if (!start_id) start_id = std::move(stored);
  }

  // Step 4: the printing end, then the stream that feeds it.
  const bool terminal = options.style == OutputStyle::readable && wants_colour(STDOUT_FILENO);
  EventWriter writer(STDOUT_FILENO, options.style, options.format, terminal, stop_requested);
  Tail tail(std::move(writer), options.event_types, options.max_events, std::move(resume_file));
  if (options.reads_stdin()) return tail_stdin(start_id, tail, log);
  return tail_url(options, start_id, tail, log);
}
