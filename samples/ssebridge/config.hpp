// config.hpp: ssebridge's command line. Every option has a named default here, and --help
// prints them all.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ssebridge {

struct Config {
  /// --listen HOST:PORT. Default 127.0.0.1:8080; port 0 takes a free port (logged at start).
  std::string host = "127.0.0.1";
  int port = 8080;

  /// --pg URL, else $DATABASE_URL. Empty: the embedded in-memory store.
  std::string pg_url;

  /// --heartbeat: a comment after this long without a write. Default 15 s; 0 disables.
  std::chrono::milliseconds heartbeat{15000};
  /// --retry: the `retry:` sent when a stream opens. Default 3 s; 0 sends none.
  std::chrono::milliseconds retry{3000};
  /// --retention: stored events older than this are pruned and cannot be replayed.
  std::chrono::milliseconds retention{std::chrono::hours(24)};
  /// --prune-interval: how often Postgres rows past the retention are deleted. Default 1 min.
  std::chrono::milliseconds prune_interval{std::chrono::minutes(1)};
  /// --demo-interval: time between two /demo/ticks events. Default 1 s.
  std::chrono::milliseconds demo_interval{1000};

  /// --max-clients: open streams at most; past it new streams get 503 with Retry-After.
  size_t max_clients = 1000;
  /// --client-queue: events waiting for one client before it is dropped as too slow.
  size_t client_queue = 1024;
  /// --max-body: the largest event data POST /events accepts. Default 1 MiB.
  size_t max_body = 1u << 20;
  /// --history: events the in-memory store keeps for replay. Default 10,000.
  size_t history = 10000;

  /// --auth-secret-file, --auth-secret or $SSEBRIDGE_AUTH_SECRET: the HMAC key of the
  /// tokens. Empty: no authentication.
  std::string auth_secret;
  /// --auth-cookie: the cookie that may carry the token. Default "ssekit_token".
  std::string auth_cookie = "ssekit_token";

  /// --no-faults: do not serve /faults/... (they are for client tests, not production).
  bool faults = true;
  /// --verbose: also log every stream opened and closed.
  bool verbose = false;
};

/// What `ssebridge token ...` mints.
struct TokenRequest {
  std::vector<std::string> channels;
  std::vector<std::string> scopes{"read"};
  std::chrono::milliseconds ttl{std::chrono::hours(1)};
  std::string secret;
};

/// The outcome of parsing the command line.
struct Command {
  enum class Action { run, help, version, token, error };
  Action action = Action::run;
  Config config;
  TokenRequest token;
  /// For Action::error: what was wrong, one line.
  std::string error;
};

/// Parses argv. Reads DATABASE_URL and SSEBRIDGE_AUTH_SECRET from the environment when the
/// flags are absent.
Command parse_command_line(int argc, const char* const* argv);

/// The --help text.
std::string usage();

}  // namespace ssebridge
