// ssetail's command line: the options it understands and the parser that turns argv into them.
// Parsing does no network I/O; every mistake becomes one UsageError line that never echoes a
// token, cookie or header value.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "output.hpp"
#include "ssekit/options.hpp"

namespace ssetail {

/// How much ssetail says on stderr.
enum class Verbosity {
  quiet,    ///< The fatal error only.
  normal,   ///< Also a line per reconnect and per skipped oversized event.
  verbose,  ///< A timestamped line per state change.
};

/// Everything the command line asked for, with the documented defaults.
struct TailOptions {
  /// The stream's URL, or "-" to parse standard input.
  std::string url;

  std::string method = "GET";
  std::string body;
  std::vector<ssekit::Header> headers;
  std::string bearer_token;
  std::string cookies;
  std::optional<ssekit::Header> query_token;

  /// --last-event-id, when given; it wins over the id stored in the resume file.
  std::optional<std::string> last_event_id;
  std::string resume_path;

  /// Event types to print; empty prints every type.
  std::vector<std::string> event_types;
  std::optional<std::uint64_t> max_events;
  OutputStyle style = OutputStyle::readable;
  FormatTemplate format;

  std::chrono::milliseconds idle_timeout{45000};
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
  std::optional<unsigned> max_retries;
  bool reconnect = true;

  std::string ca_file;
  bool insecure = false;
  ssekit::HttpVersion http_version = ssekit::HttpVersion::automatic;

  Verbosity verbosity = Verbosity::normal;

  bool reads_stdin() const { return url == "-"; }
};

/// What main() should do after parsing.
enum class CommandAction { run, help, version, usage_error };

struct CommandLine {
  CommandAction action = CommandAction::run;
  TailOptions options;
  /// For usage_error: one line saying what is wrong, without the "ssetail: " prefix.
  std::string error;
};

/// Parses argv. `bearer_from_env` is the value of SSETAIL_BEARER (nullptr when unset); --bearer
/// wins over it. `--data @FILE` is read here, so a missing file is a usage error.
CommandLine parse_command_line(int argc, const char* const* argv, const char* bearer_from_env);

/// The --help text.
const char* usage_text();

/// The line after every usage error.
inline constexpr const char* kHelpHint = "Try 'ssetail --help' for more information.";

}  // namespace ssetail
