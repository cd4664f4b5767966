#include "config.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "validate.hpp"

namespace ssebridge {
namespace {

// A secret shorter than this is too easy to guess for an HMAC key.
constexpr size_t kMinSecretLength = 16;

std::string read_secret_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read --auth-secret-file " + path;
    return {};
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
    secret.pop_back();
  return secret;
}

bool parse_listen(const std::string& value, Config& config) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = value.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const auto port = parse_count(value.substr(colon + 1), 65535);
  if (!port) return false;
  config.host = host;
  config.port = static_cast<int>(*port);
  return true;
}

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> out;
  std::stringstream in(value);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// A channel pattern of a token: "*", a channel name, or a channel name's start followed by '*'.
// Anything else could not be minted (the claims are JSON, which holds UTF-8 only).
bool is_channel_pattern(const std::string& pattern) {
  if (pattern == "*") return true;
  const bool prefix = !pattern.empty() && pattern.back() == '*';
  return check_channel(prefix ? pattern.substr(0, pattern.size() - 1) : pattern).empty();
}

using Setter = std::function<bool(const std::string& value, Command& command)>;

bool set_duration(const std::string& value, std::chrono::milliseconds& field) {
  const auto d = parse_duration(value);
  if (!d) return false;
  field = *d;
  return true;
}

bool set_count(const std::string& value, size_t& field, std::uint64_t min, std::uint64_t max) {
  const auto n = parse_count(value, max);
  if (!n || *n < min) return false;
  field = static_cast<size_t>(*n);
  return true;
}

// Options that take a value, for `ssebridge [options]`.
const std::map<std::string, Setter>& server_options() {
  static const std::map<std::string, Setter> options = {
      {"--listen", [](const std::string& v, Command& c) { return parse_listen(v, c.config); }},
      {"--pg",
       [](const std::string& v, Command& c) {
         c.config.pg_url = v;
         return !v.empty();
       }},
      {"--heartbeat",
       [](const std::string& v, Command& c) { return set_duration(v, c.config.heartbeat); }},
      {"--retry", [](const std::string& v, Command& c) { return set_duration(v, c.config.retry); }},
      {"--retention",
       [](const std::string& v, Command& c) {
         return set_duration(v, c.config.retention) && c.config.retention.count() > 0;
       }},
      {"--prune-interval",
       [](const std::string& v, Command& c) {
         return set_duration(v, c.config.prune_interval) && c.config.prune_interval.count() > 0;
       }},
      {"--demo-interval",
       [](const std::string& v, Command& c) {
         return set_duration(v, c.config.demo_interval) && c.config.demo_interval.count() > 0;
       }},
      {"--max-clients", [](const std::string& v,
                           Command& c) { return set_count(v, c.config.max_clients, 1, 100000); }},
      {"--client-queue",
       [](const std::string& v, Command& c) {
         return set_count(v, c.config.client_queue, 1, 1000000);
       }},
      {"--max-body",
       [](const std::string& v, Command& c) {
         const auto n = parse_size(v);
         if (!n || *n == 0 || *n > (64u << 20)) return false;
         c.config.max_body = static_cast<size_t>(*n);
         return true;
       }},
      {"--history", [](const std::string& v,
                       Command& c) { return set_count(v, c.config.history, 0, 10000000); }},
      {"--auth-secret",
       [](const std::string& v, Command& c) {
         c.config.auth_secret = v;
         return true;
       }},
      {"--auth-secret-file",
       [](const std::string& v, Command& c) {
         c.config.auth_secret = read_secret_file(v, c.error);
         return c.error.empty();
       }},
      {"--auth-cookie",
       [](const std::string& v, Command& c) {
         c.config.auth_cookie = v;
         return !v.empty() && check_channel(v).empty();
       }},
  };
  return options;
}

// Options that take a value, for `ssebridge token [options]`.
const std::map<std::string, Setter>& token_options() {
  static const std::map<std::string, Setter> options = {
      {"--channels",
       [](const std::string& v, Command& c) {
         c.token.channels = split_list(v);
         return !c.token.channels.empty() &&
                std::all_of(c.token.channels.begin(), c.token.channels.end(), is_channel_pattern);
       }},
      {"--scope",
       [](const std::string& v, Command& c) {
         c.token.scopes = split_list(v);
         for (const auto& s : c.token.scopes) {
           if (s != "read" && s != "publish") return false;
         }
         return !c.token.scopes.empty();
       }},
      {"--ttl", [](const std::string& v,
                   Command& c) { return set_duration(v, c.token.ttl) && c.token.ttl.count() > 0; }},
      {"--auth-secret",
       [](const std::string& v, Command& c) {
         c.token.secret = v;
         return true;
       }},
      {"--auth-secret-file",
       [](const std::string& v, Command& c) {
         c.token.secret = read_secret_file(v, c.error);
         return c.error.empty();
       }},
  };
  return options;
}

Command fail(std::string message) {
  Command command;
  command.action = Command::Action::error;
  command.error = std::move(message);
  return command;
}

const char* env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

Command parse_command_line(int argc, const char* const* argv) {
  Command command;
  int first = 1;
  if (argc > 1 && std::string(argv[1]) == "token") {
    command.action = Command::Action::token;
    first = 2;
  }
  const auto& options =
      command.action == Command::Action::token ? token_options() : server_options();

  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      command.action = Command::Action::help;
      return command;
    }
    if (arg == "--version") {
      command.action = Command::Action::version;
      return command;
    }
    if (command.action == Command::Action::run && arg == "--no-faults") {
      command.config.faults = false;
      continue;
    }
    if (command.action == Command::Action::run && arg == "--verbose") {
      command.config.verbose = true;
      continue;
    }
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const auto it = options.find(arg);
    if (it == options.end()) return fail("unknown option '" + arg + "' (see --help)");
    if (!has_value) {
      if (i + 1 >= argc) return fail("option " + arg + " needs a value (see --help)");
      value = argv[++i];
    }
    if (!it->second(value, command)) {
      if (!command.error.empty()) return fail(command.error);
      // The secret is never echoed back, even when malformed.
      const bool secret = arg.find("secret") != std::string::npos;
      return fail("bad value " + (secret ? std::string("(hidden)") : "'" + value + "'") + " for " +
                  arg + " (see --help)");
    }
  }

  if (command.action == Command::Action::token) {
    if (command.token.secret.empty()) command.token.secret = env_or_empty("SSEBRIDGE_AUTH_SECRET");
    if (command.token.secret.size() < kMinSecretLength) {
      return fail(
          "token: the secret (--auth-secret-file or SSEBRIDGE_AUTH_SECRET) must be at "
          "least 16 bytes");
    }
    if (command.token.channels.empty()) return fail("token: --channels is required");
    return command;
  }

  if (command.config.pg_url.empty()) command.config.pg_url = env_or_empty("DATABASE_URL");
  if (command.config.auth_secret.empty()) {
    command.config.auth_secret = env_or_empty("SSEBRIDGE_AUTH_SECRET");
  }
  if (!command.config.auth_secret.empty() && command.config.auth_secret.size() < kMinSecretLength) {
    return fail("the auth secret must be at least 16 bytes");
  }
  return command;
}

std::string usage() {
  return R"(Usage: ssebridge [--listen HOST:PORT] [--pg URL] [options]
       ssebridge token --channels A,B [--scope read,publish] [--ttl 1h]

Serves Server-Sent Events: GET /events?channel=NAME streams a channel, POST /events?channel=NAME
publishes to it. With --pg (or DATABASE_URL) events are stored in PostgreSQL and fanned out from
LISTEN/NOTIFY, so several bridges on one database each deliver every event; without it the
bridge keeps them in memory. GET / is a live page, /demo/ticks a demo stream, /faults/...
scripted misbehaviour for client tests, /healthz and /metrics for operators.

Options:
  --listen HOST:PORT     address to serve on (default 127.0.0.1:8080; port 0 picks a free one)
  --pg URL               postgresql://user@host:port/db (default: $DATABASE_URL, else memory)
  --heartbeat DURATION   comment sent after this long without a write (default 15s; 0: none)
  --retry DURATION       retry: sent when a stream opens (default 3s; 0: none)
  --retention DURATION   how long events can be replayed (default 24h)
  --prune-interval DURATION
                         how often Postgres rows past the retention are deleted (default 1m)
  --history N            events the in-memory store keeps for replay (default 10000)
  --max-clients N        open streams at most; more get 503 (default 1000)
  --client-queue N       events queued for a client before it is dropped as slow (default 1024)
  --max-body SIZE        largest event data accepted by POST (default 1M; K, M suffixes)
  --demo-interval DURATION
                         time between /demo/ticks events (default 1s)
  --auth-secret-file PATH
                         enable token auth with the HMAC secret in PATH (or set
                         SSEBRIDGE_AUTH_SECRET; --auth-secret SECRET also works but shows in ps)
  --auth-cookie NAME     cookie that may carry the token (default ssekit_token)
  --no-faults            do not serve /faults/...
  --verbose              log every stream opened and closed
  --help, --version

Durations: 250ms, 15s, 5m, 24h, 7d (a bare number is seconds).

Token options (ssebridge token ...), with the secret from --auth-secret-file or
SSEBRIDGE_AUTH_SECRET:
  --channels A,B         channels the token may use; "*" is any, "orders.*" a prefix
  --scope read,publish   what it may do (default read)
  --ttl DURATION         lifetime (default 1h)

Exit status: 0 after a clean shutdown (SIGINT, SIGTERM), 1 on a failure while running,
2 for a bad option, an address that cannot be bound or a database that cannot be reached.
)";
}

}  // namespace ssebridge
