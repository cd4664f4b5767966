// ssekit/options.hpp: everything a Client can be told, with production defaults.
//
// Each member says its default and why. Only `url` is required:
//
//   ssekit::ClientOptions options;
//   options.url = "https://example.com/events";
//   options.bearer_token = token;
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ssekit/backoff.hpp"
#include "ssekit/log.hpp"
#include "ssekit/parser.hpp"

namespace ssekit {

class Loop;

/// Which HTTP version to ask for.
enum class HttpVersion {
  /// HTTP/2 over TLS when the server offers it (ALPN), HTTP/1.1 otherwise. Plain http:// uses
  /// HTTP/1.1. The default: what browsers do.
  automatic,
  http1_1,
  /// HTTP/2, also over plain http:// (prior knowledge); fails against an HTTP/1.1-only server.
  http2,
};

/// TLS settings. Verification is on by default and should stay on outside tests.
struct TlsOptions {
  /// Check the server's certificate chain and host name. Default true.
  bool verify = true;
  /// PEM file of CA certificates to trust instead of the system store. Default: system store.
  std::string ca_file;
  /// PEM client certificate and key for mutual TLS. Default: none.
  std::string client_cert_file;
  /// PEM private key of `client_cert_file`. Default: none.
  std::string client_key_file;
};

/// One name/value header. Names are case-insensitive on the wire.
using Header = std::pair<std::string, std::string>;

/// What classify() (or the app's own policy) decides about the outcome of an attempt.
enum class Action {
  open,    ///< The response is an event stream: read it.
  retry,   ///< Reconnect after the backoff delay (or Retry-After, when longer).
  reauth,  ///< Ask ClientOptions::on_unauthorized for fresh credentials, retry once.
  stop,    ///< End quietly: the server asked the client to stop (204).
  fail,    ///< End with an error.
};

/// The facts of one connection attempt, handed to the reconnect policy.
struct Outcome {
  /// HTTP status of the final response, 0 when none arrived.
  int http_status = 0;
  /// Media type of the response without parameters, lower case ("text/event-stream").
  std::string content_type;
  /// Retry-After of the response, when it had a valid one.
  std::optional<std::chrono::milliseconds> retry_after;
  /// ssekit's reading of a transport failure (network, tls, stale, stream_ended, ...), or ok
  /// when a response arrived.
  ErrorCode transport = ErrorCode::ok;
};

/// The built-in decision table: 200 text/event-stream opens; 204 stops; 408, 429, 500, 502, 503,
/// 504, network failures, stale links and ended streams retry; 401 and 403 reauthenticate;
/// another 4xx with Retry-After retries; anything else (other statuses, a wrong content type,
/// TLS failures) fails.
Action classify(const Outcome& outcome) noexcept;

/// Fresh credentials from ClientOptions::on_unauthorized.
struct Credentials {
  std::string bearer_token;     ///< Replaces ClientOptions::bearer_token when not empty.
  std::vector<Header> headers;  ///< Added to, or replacing same-named, headers.
};

/// Everything a Client can be told. Only `url` is required; every other member has a default.
struct ClientOptions {
  /// Absolute http:// or https:// URL of the stream. Required.
  std::string url;

  /// HTTP method. Default "GET"; "POST" with a body is how many APIs stream.
  std::string method = "GET";
  /// Request body, sent again on every attempt. Default empty (none).
  std::string body;
  /// Extra request headers. `Accept: text/event-stream` and `Cache-Control: no-cache` are
  /// always sent unless overridden here. Values are never logged.
  std::vector<Header> headers;

  /// Sent as `Authorization: Bearer <token>`. Default empty (none).
  std::string bearer_token;
  /// Called on the loop thread before every connection attempt; a non-empty result is the
  /// bearer token of that attempt (rotating tokens). Default: none.
  std::function<std::string()> token_provider;
  /// Called on 401 or 403 for fresh credentials; returning nothing makes the status fatal.
  /// A request is retried at most once per refusal. Default: none (401/403 are fatal).
  std::function<std::optional<Credentials>(int http_status)> on_unauthorized;
  /// Sent as the Cookie header, "a=b; c=d". Default empty.
  std::string cookies;
  /// A token carried in the query string, appended as `name=value` (URL-encoded) for servers
  /// that accept nothing else. Redacted in logs. Default: none.
  std::optional<Header> query_token;

  /// Last-Event-ID of the first request, to resume from a stored position. Default empty.
  std::string last_event_id;

  /// Reconnect after failures and ended streams. Default true; false ends the client (closed)
  /// at the first failure or end of stream.
  bool reconnect = true;
  /// Backoff and give-up rules. See backoff.hpp for the defaults.
  ReconnectPolicy reconnect_policy;
  /// Replaces classify() for every decision. Default: classify.
  std::function<Action(const Outcome&)> policy;

  /// Heartbeat watchdog: a link silent this long is dropped as stale and reconnected. Default
  /// 45 s, which fits servers that send a comment every 15 to 30 s. Zero turns it off.
  std::chrono::milliseconds idle_timeout{45000};
  /// Limit on DNS + TCP + TLS setup of one attempt. Default 10 s.
  std::chrono::milliseconds connect_timeout{10000};

  /// HTTP version to ask for. Default automatic: HTTP/2 over TLS when offered, as browsers do.
  HttpVersion http_version = HttpVersion::automatic;
  /// Certificate checks and client certificates. Default: verify against the system store.
  TlsOptions tls;
  /// Proxy URL. Default empty: libcurl's environment variables (http_proxy, https_proxy,
  /// no_proxy) apply.
  std::string proxy;
  /// Redirects followed per attempt. Default 10. Credentials are never sent to another origin.
  long max_redirects = 10;

  /// Line and event size limits of the parser.
  ParserLimits limits;

  /// Pull API only (no on_event callback): events queued for next() before the client stops
  /// reading the socket until next() has taken half of them. TCP then slows the server down
  /// instead of memory growing without bound behind an app that stopped pulling. Default 10,000;
  /// 0 queues without limit.
  std::size_t max_queued_events = 10000;

  /// Size of the buffer each stream reads the socket into. Default 0: 128 KiB, so a stream at
  /// full speed reads in few, large calls. Its pages become resident only as far as reads fill
  /// them: an idle stream stays under 20 KiB in all, but one that once received a burst keeps up
  /// to the whole buffer. Many busy streams may want 16 KiB; libcurl clamps the value to
  /// [1 KiB, 512 KiB].
  std::size_t read_buffer_bytes = 0;

  /// Where log lines go. Default: nowhere (ssekit is silent).
  LogSink logger;
  /// The least level sent to the logger. Default info: one line per state change.
  LogLevel log_level = LogLevel::info;

  /// The loop that drives this client. Default: a loop of its own, started on start().
  std::shared_ptr<Loop> loop;

  /// Test seams: the clock and random source used for the watchdog, the healthy-period reset and
  /// the jitter. Defaults: steady_clock and default_random_source().
  std::function<std::chrono::steady_clock::time_point()> clock;
  /// Test seam: the random source of the jitter. Default: default_random_source().
  RandomSource random;
};

}  // namespace ssekit
