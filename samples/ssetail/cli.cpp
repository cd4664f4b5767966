// Parsing of ssetail's command line: GNU-style long options (--name value, --name=value),
// short options (-n 5, -n5, clustered -kv), "--" to end options and "-" for standard input.
#include "cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <string_view>

#include "duration.hpp"

namespace ssetail {
namespace {

/// Largest request body --data @FILE reads: a streaming request is a query, not an upload, and
/// the body is kept in memory and resent on every reconnect.
constexpr std::size_t kMaxBodyBytes = std::size_t{16} << 20;

enum class Flag {
  header,
  bearer,
  cookie,
  query_token,
  method,
  data,
  last_event_id,
  resume,
  event,
  max_events,
  json,
  format,
  idle_timeout,
  backoff_initial,
  backoff_max,
  max_retries,
  no_reconnect,
  cacert,
  insecure,
  http1_1,
  http2,
  verbose,
  quiet,
  help,
  version,
};

struct FlagSpec {
  Flag flag;
  std::string_view long_name;
  char short_name;  // '\0' when the flag has no short form
  bool takes_value;
};

constexpr FlagSpec kFlags[] = {
    {Flag::header, "header", 'H', true},
    {Flag::bearer, "bearer", '\0', true},
    {Flag::cookie, "cookie", '\0', true},
    {Flag::query_token, "query-token", '\0', true},
    {Flag::method, "method", 'X', true},
    {Flag::data, "data", 'd', true},
    {Flag::last_event_id, "last-event-id", '\0', true},
    {Flag::resume, "resume", '\0', true},
    {Flag::event, "event", '\0', true},
    {Flag::max_events, "max-events", 'n', true},
    {Flag::json, "json", '\0', false},
    {Flag::format, "format", '\0', true},
    {Flag::idle_timeout, "idle-timeout", '\0', true},
    {Flag::backoff_initial, "backoff-initial", '\0', true},
    {Flag::backoff_max, "backoff-max", '\0', true},
    {Flag::max_retries, "max-retries", '\0', true},
    {Flag::no_reconnect, "no-reconnect", '\0', false},
    {Flag::cacert, "cacert", '\0', true},
    {Flag::insecure, "insecure", 'k', false},
    {Flag::http1_1, "http1.1", '\0', false},
    {Flag::http2, "http2", '\0', false},
    {Flag::verbose, "verbose", 'v', false},
    {Flag::quiet, "quiet", 'q', false},
    {Flag::help, "help", 'h', false},
    {Flag::version, "version", 'V', false},
};

const FlagSpec* find_long(std::string_view name) {
  for (const FlagSpec& spec : kFlags) {
    if (spec.long_name == name) return &spec;
  }
  return nullptr;
}

const FlagSpec* find_short(char name) {
  for (const FlagSpec& spec : kFlags) {
    if (spec.short_name != '\0' && spec.short_name == name) return &spec;
  }
  return nullptr;
}

/// RFC 9110 token characters: what a header name or a method may consist of.
bool is_token(std::string_view text) {
  constexpr std::string_view kPunctuation = "!#$%&'*+-.^_`|~";
  if (text.empty()) return false;
  for (const char c : text) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && kPunctuation.find(c) == std::string_view::npos) return false;
  }
  return true;
}

/// CR, LF or NUL in a header value would end the header early and let it inject others.
bool is_single_line(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

/// Digits only, at most `limit`.
std::optional<std::uint64_t> parse_count(std::string_view text, std::uint64_t limit) {
  constexpr std::uint64_t kRadix = 10;
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (limit - digit) / kRadix) return std::nullopt;
    value = value * kRadix + digit;
  }
  return value;
}

/// Lower-cases ASCII, for the case-insensitive URL scheme.
std::string ascii_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

/// An absolute http(s) URL with a host and no whitespace or control characters. The client
/// checks the rest; this catches the usual slips (no scheme, a stray space) before any I/O.
bool is_stream_url(std::string_view url) {
  const std::string lower = ascii_lower(url.substr(0, std::string_view("https://").size()));
  std::size_t host_start = 0;
  if (lower.rfind("http://", 0) == 0) {
    host_start = std::string_view("http://").size();
  } else if (lower.rfind("https://", 0) == 0) {
    host_start = std::string_view("https://").size();
  } else {
    return false;
  }

  constexpr unsigned char kFirstVisible = 0x21;  // everything below is a space or a control
  constexpr unsigned char kDelete = 0x7f;
  for (const char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < kFirstVisible || byte == kDelete) return false;
  }
  const std::size_t host_end = url.find_first_of("/?#", host_start);
  return host_end != host_start && host_start < url.size();
}

/// Reads all of `fd` into `body` for --data @FILE or @-, refusing more than kMaxBodyBytes.
bool read_body(int fd, const std::string& what, std::string& body, std::string& error) {
  constexpr std::size_t kChunkBytes = 64 * 1024;
  char chunk[kChunkBytes];
  body.clear();
  while (true) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got == 0) return true;
    if (got < 0) {
      if (errno == EINTR) continue;
      error = "cannot read --data " + what + ": " + std::strerror(errno);
      return false;
    }
    if (body.size() + static_cast<std::size_t>(got) > kMaxBodyBytes) {
      constexpr int kMebibyteShift = 20;
      error = "--data " + what + " is larger than " +
              std::to_string(kMaxBodyBytes >> kMebibyteShift) + " MiB";
      return false;
    }
    body.append(chunk, static_cast<std::size_t>(got));
  }
}

/// Reads the file named by --data @FILE.
bool read_body_file(const std::string& path, std::string& body, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read --data file '" + path + "': " + std::strerror(errno);
    return false;
  }
  const bool read = read_body(fd, "file '" + path + "'", body, error);
  ::close(fd);
  return read;
}

/// Applies one parsed flag to `line`. Returns false with `line.error` set on a bad value; the
/// message names the flag and never repeats a secret value.
class FlagApplier {
 public:
  explicit FlagApplier(CommandLine& line) : line_(line), options_(line.options) {}

  bool apply(const FlagSpec& spec, const std::string& value) {
    switch (spec.flag) {
      case Flag::header:
        return add_header(value);
      case Flag::bearer:
        bearer_given_ = true;
        options_.bearer_token = value;
        return check_secret(value, "--bearer");
      case Flag::cookie:
        options_.cookies = value;
        return check_secret(value, "--cookie");
      case Flag::query_token:
        return set_query_token(value);
      case Flag::method:
        options_.method = value;
        method_given_ = true;
        return is_token(value) || fail("bad --method: expected an HTTP method such as GET or POST");
      case Flag::data:
        return set_body(value);
      case Flag::last_event_id:
        options_.last_event_id = value;
        return is_single_line(value) || fail("bad --last-event-id: it may not hold CR, LF or NUL");
      case Flag::resume:
        options_.resume_path = value;
        return !value.empty() || fail("bad --resume: expected a file name");
      case Flag::event:
        options_.event_types.push_back(value);
        return !value.empty() || fail("bad --event: expected an event type");
      case Flag::max_events:
        return set_max_events(value);
      case Flag::json:
        options_.style = OutputStyle::json;
        json_given_ = true;
        return true;
      case Flag::format:
        return set_format(value);
      case Flag::idle_timeout:
        return set_duration(value, "--idle-timeout", options_.idle_timeout);
      case Flag::backoff_initial:
        return set_duration(value, "--backoff-initial", options_.backoff_initial);
      case Flag::backoff_max:
        return set_duration(value, "--backoff-max", options_.backoff_max);
      case Flag::max_retries:
        return set_max_retries(value);
      case Flag::no_reconnect:
        options_.reconnect = false;
        return true;
      case Flag::cacert:
        return set_ca_file(value);
      case Flag::insecure:
        options_.insecure = true;
        return true;
      case Flag::http1_1:
        options_.http_version = ssekit::HttpVersion::http1_1;
        return true;
      case Flag::http2:
        options_.http_version = ssekit::HttpVersion::http2;
        return true;
      case Flag::verbose:
        options_.verbosity = Verbosity::verbose;
        return true;
      case Flag::quiet:
        options_.verbosity = Verbosity::quiet;
        return true;
      case Flag::help:
        line_.action = CommandAction::help;
        return true;
      case Flag::version:
        line_.action = CommandAction::version;
        return true;
    }
    return fail("internal error: unhandled option");
  }

  bool bearer_given() const { return bearer_given_; }
  bool method_given() const { return method_given_; }
  bool body_from_stdin() const { return body_from_stdin_; }
  bool format_given() const { return format_given_; }
  bool json_given() const { return json_given_; }

 private:
  bool fail(std::string message) {
    line_.error = std::move(message);
    return false;
  }

  bool check_secret(const std::string& value, const char* flag) {
    if (value.empty()) return fail(std::string("bad ") + flag + ": the value is empty");
    if (!is_single_line(value))
      return fail(std::string("bad ") + flag + ": it holds CR, LF or NUL");
    return true;
  }

  bool add_header(const std::string& value) {
    const std::size_t colon = value.find(':');
    const std::string_view name =
        colon == std::string::npos ? std::string_view() : std::string_view(value).substr(0, colon);
    if (!is_token(name)) return fail("bad --header: expected 'Name: value'");
    const std::string_view header_value = trim_blanks(std::string_view(value).substr(colon + 1));
    if (!is_single_line(header_value)) {
      return fail("bad --header '" + std::string(name) + "': the value holds CR, LF or NUL");
    }
    options_.headers.emplace_back(std::string(name), std::string(header_value));
    return true;
  }

  bool set_query_token(const std::string& value) {
    const std::size_t equals = value.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == value.size()) {
      return fail("bad --query-token: expected NAME=TOKEN");
    }
    options_.query_token = ssekit::Header(value.substr(0, equals), value.substr(equals + 1));
    return check_secret(options_.query_token->second, "--query-token");
  }

  bool set_body(const std::string& value) {
    if (value.rfind('@', 0) != 0) {
      options_.body = value;
      body_from_stdin_ = false;
      return true;
    }
    const std::string path = value.substr(1);
    if (path == "-") {
      // Read once every flag is known: standard input may be the event stream instead.
      body_from_stdin_ = true;
      return true;
    }
    body_from_stdin_ = false;
    return read_body_file(path, options_.body, line_.error);
  }

  bool set_max_events(const std::string& value) {
    const auto count = parse_count(value, std::numeric_limits<std::uint64_t>::max());
    if (!count || *count == 0)
      return fail("bad --max-events '" + value + "': expected a count of 1 or more");
    options_.max_events = *count;
    return true;
  }

  bool set_max_retries(const std::string& value) {
    // One below the maximum: the client counts the first attempt too.
    const auto count = parse_count(value, std::numeric_limits<unsigned>::max() - 1);
    if (!count) return fail("bad --max-retries '" + value + "': expected a count such as 5");
    options_.max_retries = static_cast<unsigned>(*count);
    return true;
  }

  bool set_format(const std::string& value) {
    std::string error;
    auto compiled = FormatTemplate::compile(value, error);
    if (!compiled) return fail("bad --format: " + error);
    options_.format = std::move(*compiled);
    options_.style = OutputStyle::custom;
    format_given_ = true;
    return true;
  }

  bool set_duration(const std::string& value, const char* flag, std::chrono::milliseconds& out) {
    const auto duration = parse_duration(value);
    if (!duration) {
      return fail(std::string("bad ") + flag + " '" + value +
                  "': expected a number with a unit: 250ms, 2s, 1m");
    }
    out = *duration;
    return true;
  }

  bool set_ca_file(const std::string& value) {
    std::ifstream file(value);
    if (!file) return fail("cannot read --cacert '" + value + "': " + std::strerror(errno));
    options_.ca_file = value;
    return true;
  }

  CommandLine& line_;
  TailOptions& options_;
  bool bearer_given_ = false;
  bool method_given_ = false;
  bool body_from_stdin_ = false;
  bool format_given_ = false;
  bool json_given_ = false;
};

/// Checks what no single flag can: the URL, and flags that contradict each other.
bool check_combination(const FlagApplier& applier, const std::vector<std::string>& positionals,
                       CommandLine& line) {
  TailOptions& options = line.options;
  if (positionals.empty()) {
    line.error = "missing URL (or - to read an event stream from standard input)";
    return false;
  }
  if (positionals.size() > 1) {
    // The extra words are not echoed: they are often the tail of an unquoted header value.
    line.error = "expected one URL but got " + std::to_string(positionals.size()) +
                 " arguments (quote a header value that holds spaces)";
    return false;
  }
  options.url = positionals.front();
  if (!options.reads_stdin() && !is_stream_url(options.url)) {
    line.error = "bad URL: expected an absolute http:// or https:// URL with a host";
    return false;
  }
  if (applier.json_given() && applier.format_given()) {
    line.error = "--json and --format cannot be combined";
    return false;
  }
  if (options.backoff_initial.count() == 0) {
    line.error = "bad --backoff-initial: it must be above 0, or reconnects would hammer the server";
    return false;
  }
  if (options.backoff_max < options.backoff_initial) {
    line.error = "--backoff-max must not be below --backoff-initial";
    return false;
  }
  if (applier.body_from_stdin()) {
    if (options.reads_stdin()) {
      line.error = "--data @- and the URL - both want standard input";
      return false;
    }
    if (!read_body(STDIN_FILENO, "from standard input", options.body, line.error)) return false;
  }
  return true;
}

/// Reads the value of a flag that takes one: the rest of the word, else the next word.
bool take_value(const FlagSpec& spec, std::string_view inline_value, bool has_inline, int argc,
                const char* const* argv, int& index, std::string& value, CommandLine& line) {
  if (has_inline) {
    value = std::string(inline_value);
    return true;
  }
  if (index + 1 >= argc) {
    line.error = "option --" + std::string(spec.long_name) + " needs a value";
    return false;
  }
  value = argv[++index];
  return true;
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv, const char* bearer_from_env) {
  CommandLine line;
  FlagApplier applier(line);
  std::vector<std::string> positionals;
  bool options_ended = false;

  for (int index = 1; index < argc; ++index) {
    const std::string_view word = argv[index];
    if (options_ended || word == "-" || word.empty() || word[0] != '-') {
      positionals.emplace_back(word);
      continue;
    }
    if (word == "--") {
      options_ended = true;
      continue;
    }

    std::string value;
    if (word.rfind("--", 0) == 0) {
      // --name or --name=value. Only the name is echoed in errors: the value may be a secret.
      const std::string_view body = word.substr(2);
      const std::size_t equals = body.find('=');
      const std::string_view name = body.substr(0, equals);
      const FlagSpec* spec = find_long(name);
      if (spec == nullptr) {
        line.error = "unknown option '--" + std::string(name) + "'";
        line.action = CommandAction::usage_error;
        return line;
      }
      const bool has_inline = equals != std::string_view::npos;
      if (!spec->takes_value && has_inline) {
        line.error = "option --" + std::string(name) + " takes no value";
        line.action = CommandAction::usage_error;
        return line;
      }
      const bool ok = (!spec->takes_value ||
                       take_value(*spec, has_inline ? body.substr(equals + 1) : std::string_view(),
                                  has_inline, argc, argv, index, value, line)) &&
                      applier.apply(*spec, value);
      if (!ok) {
        line.action = CommandAction::usage_error;
        return line;
      }
      continue;
    }

    // A cluster of short flags: "-kv", "-n5", "-n 5". A flag that takes a value ends it.
    for (std::size_t at = 1; at < word.size(); ++at) {
      const FlagSpec* spec = find_short(word[at]);
      if (spec == nullptr) {
        line.error = std::string("unknown option '-") + word[at] + "'";
        line.action = CommandAction::usage_error;
        return line;
      }
      const std::string_view rest = word.substr(at + 1);
      bool ok = true;
      if (spec->takes_value) {
        ok = take_value(*spec, rest, !rest.empty(), argc, argv, index, value, line);
        at = word.size();
      }
      if (!ok || !applier.apply(*spec, value)) {
        line.action = CommandAction::usage_error;
        return line;
      }
    }
  }

  // --help and --version answer whatever else the line holds, as GNU tools do.
  if (line.action != CommandAction::run) return line;

  if (!applier.bearer_given() && bearer_from_env != nullptr && bearer_from_env[0] != '\0') {
    line.options.bearer_token = bearer_from_env;
  }
  if (!applier.method_given() && (!line.options.body.empty() || applier.body_from_stdin())) {
    line.options.method = "POST";  // as curl does: a body means a POST unless -X says otherwise
  }
  if (!check_combination(applier, positionals, line)) line.action = CommandAction::usage_error;
  return line;
}

const char* usage_text() {
  return R"(Usage: ssetail [options] URL
       ssetail [options] -

Print the events of a Server-Sent Events stream as they arrive, reconnecting
and resuming from the last event id. With -, parse a stream from stdin.

Request:
  -H, --header 'Name: value'  add a request header (repeatable)
      --bearer TOKEN          Authorization: Bearer TOKEN ($SSETAIL_BEARER)
      --cookie 'a=b; c=d'     send these cookies
      --query-token NAME=TOKEN  add NAME=TOKEN to the URL; never printed
  -X, --method METHOD         HTTP method (GET, or POST with --data)
  -d, --data BODY             request body; @FILE reads FILE, @- stdin
      --last-event-id ID      resume after this event id
      --resume FILE           resume from the id in FILE, keep FILE updated
Output:
      --event TYPE            print only events of this type (repeatable)
  -n, --max-events N          exit 0 after printing N events
      --json                  {"event":...,"data":...,"id":...} per line
      --format TEMPLATE       TEMPLATE per event: {event} {data} {id} {time}
Connection:
      --idle-timeout DURATION     reconnect after this long silent (45s; 0 off)
      --backoff-initial DURATION  first reconnect delay (1s)
      --backoff-max DURATION      longest reconnect delay (30s)
      --max-retries N         give up after N failed reconnects in a row
      --no-reconnect          exit when the stream ends or fails
      --cacert FILE           trust the CA certificates in FILE
  -k, --insecure              do not verify the server's certificate
      --http1.1, --http2      use this HTTP version
Messages:
  -v, --verbose               a timestamped line per state change on stderr
  -q, --quiet                 print fatal errors only
  -h, --help                  print this help
  -V, --version               print the version

A DURATION is a number with a unit: 250ms, 2s, 1.5m, 1h.
Exit status: 0 done (--max-events, HTTP 204, end of input, or the stream
ended with --no-reconnect), 1 failed for good, 2 bad usage, 130 Ctrl-C.
Manual: docs/ssetail.md
)";
}

}  // namespace ssetail
