// bridge_request_fuzz: what a client or an operator hands the bridge: the query string and
// headers of GET/POST /events (channel names, event type, Last-Event-ID, the credential) and
// the command line. Every accepted value must be within the documented limits, and every
// refusal must come with a reason on one printable line that quotes no credential.
//
// Input layout: byte 0 picks the mode, the rest is split at '\n' into fields.
//   mode 0  a request: field 0 the query string (parsed by cpp-httplib as the server does),
//           field 1 the Last-Event-ID header, field 2 an Authorization header, field 3 a
//           Cookie header and field 4 a body; each header only when its field exists.
//   mode 1  a command line: each field is one argument after "ssebridge".
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>

#include "auth.hpp"
#include "bridge.hpp"
#include "config.hpp"
#include "utf8.hpp"
#include "validate.hpp"

namespace {

const std::string kSecret = "fuzz-secret-0123456789abcdef";
const std::string kCookie = "ssekit_token";
// The longest reason a refusal may carry: the fixed words plus a value cut at 64 characters.
constexpr size_t kMaxReasonLength = 200;
// A credential never shows in a message, not even this many of its characters in a row. Only
// runs of letters, digits, '-' and '_' are checked: the messages' fixed wording has no such
// run this long, though the fuzzer may copy that wording into a header or an argument.
constexpr size_t kQuotable = 12;

bool is_word_run(const std::string& text) {
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

void require(bool condition) {
  if (!condition) std::abort();
}

std::vector<std::string> split_fields(std::string_view material) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (start <= material.size()) {
    const size_t end = std::min(material.find('\n', start), material.size());
    fields.emplace_back(material.substr(start, end - start));
    start = end + 1;
  }
  return fields;
}

void check_reason(const std::string& reason) {
  require(!reason.empty() && reason.size() <= kMaxReasonLength);
  for (char c : reason)
    require(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

void check_quotes_nothing_of(const std::string& message, const std::string& secret) {
  for (size_t at = 0; at + kQuotable <= secret.size(); ++at) {
    const std::string window = secret.substr(at, kQuotable);
    if (is_word_run(window)) require(message.find(window) == std::string::npos);
  }
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

// The documented rule for channel names and event types: 1 to `max` of A-Z a-z 0-9 _ . : -
bool follows_name_rule(const std::string& value, size_t max) {
  if (value.empty() || value.size() > max) return false;
  for (char c : value) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

void check_name(const std::string& reason, const std::string& value, size_t max) {
  require(reason.empty() == follows_name_rule(value, max));
  if (!reason.empty()) check_reason(reason);
}

bool all_digits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

// "007" is id 7: the number printed back is the text without its leading zeros.
std::string without_leading_zeros(const std::string& digits) {
  const size_t first = digits.find_first_not_of('0');
  return first == std::string::npos ? "0" : digits.substr(first);
}

void check_last_event_id(const httplib::Request& req) {
  std::string text;
  bool given = true;
  if (req.has_header("Last-Event-ID")) {
    text = req.get_header_value("Last-Event-ID");
  } else if (req.has_param("lastEventId")) {
    text = req.get_param_value("lastEventId");
  } else {
    given = false;
  }

  std::string error;
  const auto id = ssebridge::last_event_id_of(req, error);
  if (!given || text.find_first_not_of(' ') == std::string::npos) {
    require(!id && error.empty());
    return;
  }
  if (id) {
    require(error.empty() && all_digits(text) && text.size() <= 18 && *id >= 0);
    require(std::to_string(*id) == without_leading_zeros(text));
  } else {
    check_reason(error);
    require(!all_digits(text) || text.size() > 18);
  }
}

void check_body(const std::string& body) {
  const bool valid = ssekit::detail::is_valid_utf8(body);
  // Two validators written apart, the SDK's and the bridge's, must agree on every input.
  require(ssebridge::is_valid_utf8(body) == valid);
  const std::string reason = ssebridge::check_data(body);
  require(reason.empty() == (valid && body.find('\0') == std::string::npos));
  if (!reason.empty()) check_reason(reason);
}

void check_request(const std::vector<std::string>& fields) {
  httplib::Request req;
  httplib::detail::parse_query_text(fields[0], req.params);
  if (fields.size() > 1) req.set_header("Last-Event-ID", fields[1]);
  if (fields.size() > 2) req.set_header("Authorization", fields[2]);
  if (fields.size() > 3) req.set_header("Cookie", fields[3]);

  for (size_t i = 0; i < req.get_param_value_count("channel"); ++i) {
    const std::string channel = req.get_param_value("channel", i);
    check_name(ssebridge::check_channel(channel), channel, ssebridge::kMaxChannelLength);
  }
  if (req.has_param("type")) {
    const std::string type = req.get_param_value("type");
    check_name(ssebridge::check_type(type), type, ssebridge::kMaxTypeLength);
  }
  check_last_event_id(req);

  static const ssebridge::Authenticator auth(kSecret, kCookie);
  const auto verdict = auth.authenticate(req);
  require(verdict.kind == ssebridge::Authenticator::Verdict::Kind::ok || !verdict.reason.empty());
  // A refused token: the reason quotes none of the places it can come from. (A missing one
  // gets a fixed sentence that names the cookie, which such a header may contain too.)
  if (verdict.kind == ssebridge::Authenticator::Verdict::Kind::invalid) {
    for (const auto& field : {std::string("Authorization"), std::string("Cookie")}) {
      check_quotes_nothing_of(verdict.reason, req.get_header_value(field.c_str()));
    }
    check_quotes_nothing_of(verdict.reason, req.get_param_value("token"));
  }

  if (fields.size() > 4) check_body(fields[4]);
}

// Every number the command line sets stays within the bounds --help documents.
void check_server_config(const ssebridge::Config& config) {
  require(config.port >= 0 && config.port <= 65535);
  require(config.max_clients >= 1 && config.max_clients <= 100000);
  require(config.client_queue >= 1 && config.client_queue <= 1000000);
  require(config.max_body >= 1 && config.max_body <= (64u << 20));
  require(config.history <= 10000000);
  require(config.heartbeat.count() >= 0 && config.retry.count() >= 0);
  require(config.retention.count() > 0 && config.prune_interval.count() > 0);
  require(config.demo_interval.count() > 0);
  require(config.auth_secret.empty() || config.auth_secret.size() >= 16);
  require(follows_name_rule(config.auth_cookie, ssebridge::kMaxChannelLength));
}

// The secret in arguments[at] from `offset` on shows in `message` only where another argument
// holds the same characters (a bad value of another option is rightly quoted).
void check_secret_hidden(const std::string& message, const std::vector<std::string>& arguments,
                         size_t at, size_t offset) {
  const std::string secret = arguments[at].substr(offset);
  for (size_t from = 0; from + kQuotable <= secret.size(); ++from) {
    const std::string window = secret.substr(from, kQuotable);
    if (!is_word_run(window) || message.find(window) == std::string::npos) continue;
    bool elsewhere = false;
    for (size_t i = 0; i < arguments.size(); ++i) {
      elsewhere |= i != at && arguments[i].find(window) != std::string::npos;
    }
    require(elsewhere);
  }
}

// The value of --auth-secret never shows in an error, however malformed. Walks the arguments
// as the parser does: an option takes its value after '=' or as the next argument (which is
// then a value, even if it looks like an option), and two options take none.
void check_secrets_hidden(const std::string& error, const std::vector<std::string>& arguments) {
  size_t i = !arguments.empty() && arguments[0] == "token" ? 1 : 0;
  while (i < arguments.size()) {
    const std::string& argument = arguments[i];
    if (argument == "--no-faults" || argument == "--verbose") {
      i += 1;
    } else if (argument.rfind("--", 0) == 0 && argument.find('=') != std::string::npos) {
      if (argument.rfind("--auth-secret=", 0) == 0) {
        check_secret_hidden(error, arguments, i, sizeof "--auth-secret=" - 1);
      }
      i += 1;
    } else {
      if (argument == "--auth-secret" && i + 1 < arguments.size()) {
        check_secret_hidden(error, arguments, i + 1, 0);
      }
      i += 2;
    }
  }
}

// What `ssebridge token` accepts it must be able to mint, and the token must verify.
void check_token_request(const ssebridge::TokenRequest& request) {
  require(request.secret.size() >= 16 && !request.channels.empty() && request.ttl.count() > 0);
  ssebridge::TokenClaims claims;
  claims.channels = request.channels;
  claims.read = true;
  constexpr std::int64_t kOneHour = 3600;
  claims.expires_at = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count() +
                      kOneHour;
  const ssebridge::Authenticator auth(request.secret, kCookie);
  const auto verdict = auth.verify(auth.mint(claims));
  require(verdict.kind == ssebridge::Authenticator::Verdict::Kind::ok);
  require(verdict.claims.channels == request.channels);
}

void check_command_line(const std::vector<std::string>& fields) {
  // An argument ends at its first NUL, as one from a real argv would.
  std::vector<std::string> arguments;
  for (const auto& field : fields)
    arguments.push_back(field.substr(0, field.find('\0')));
  std::vector<const char*> argv{"ssebridge"};
  for (const auto& argument : arguments) {
    // --auth-secret-file opens the path it is given: the fuzzer must not read this machine's
    // files (or block on a FIFO), so those inputs are left out.
    if (argument.find("secret-file") != std::string::npos) return;
    argv.push_back(argument.c_str());
  }
  const auto command = ssebridge::parse_command_line(static_cast<int>(argv.size()), argv.data());

  switch (command.action) {
    case ssebridge::Command::Action::error:
      require(!command.error.empty());
      check_secrets_hidden(command.error, arguments);
      break;
    case ssebridge::Command::Action::run:
      check_server_config(command.config);
      break;
    case ssebridge::Command::Action::token:
      check_token_request(command.token);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // parse_command_line falls back to these; the fuzzer's results must not depend on them.
  unsetenv("DATABASE_URL");
  unsetenv("SSEBRIDGE_AUTH_SECRET");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view material(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<std::string> fields = split_fields(material);
  if (data[0] % 2 == 0) {
    check_request(fields);
  } else {
    check_command_line(fields);
  }
  return 0;
}
