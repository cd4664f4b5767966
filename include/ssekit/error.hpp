// ssekit/error.hpp: ssekit's error codes and the Error value every fallible call returns.
//
// Every failure, from the parser, the transport or the server, is one ErrorCode. The libcurl
// code and the HTTP status that caused it are kept beside it for diagnostics, and the message
// names the action and the object ("GET http://host/events: HTTP 503 Service Unavailable").
// Messages never contain a header value, token or cookie.
#pragma once

#include <string>

namespace ssekit {

/// What went wrong. The comment of each code says when it happens and whether the client retries.
enum class ErrorCode {
  /// No error.
  ok = 0,

  // Parser limits: the offending line or event is skipped, the stream goes on.

  /// A line exceeded ParserLimits::max_line_bytes; it and the event it belongs to are dropped.
  line_too_long,
  /// An event's data exceeded ParserLimits::max_event_bytes; the event is dropped.
  event_too_large,

  // Bad arguments, reported before any request is made. Never retried.

  /// The URL is not an absolute http:// or https:// URL.
  invalid_url,
  /// A header name or value, cookie or token is empty where it may not be, or holds CR, LF or
  /// NUL (which would let it inject headers).
  invalid_header,
  /// Some other option is out of range (negative duration, unknown HTTP method syntax, ...).
  invalid_option,

  // Transport failures. Retried with backoff.

  /// The connection could not be made or broke: refused, reset, DNS failure, connect timeout.
  network,
  /// No byte arrived for ClientOptions::idle_timeout: the heartbeat watchdog dropped the link.
  stale,
  /// The server ended the response. Retried (with backoff) unless reconnecting is disabled.
  stream_ended,
  /// The server answered a retried status (5xx listed in the policy, 408, 429, or a 4xx with
  /// Retry-After). Error::http_status holds it.
  http_retryable,

  // Terminal failures: the client moves to `closed`.

  /// The server answered a status that is not retried (most 4xx). Error::http_status holds it.
  http_status,
  /// 401 or 403 and no fresh credentials were available (or they were refused again).
  unauthorized,
  /// The response was not `text/event-stream`. The message names the type received.
  content_type,
  /// TLS failed: certificate not trusted, host name mismatch, handshake failure.
  tls,
  /// More redirects than ClientOptions::max_redirects.
  too_many_redirects,
  /// ReconnectPolicy::max_attempts or max_disconnected ran out.
  retries_exhausted,
  /// The server asked the client to stop with 204 No Content. Not an error for most apps; it is
  /// the reason `closed` reports.
  server_closed,
  /// close() was called.
  closed_by_app,
  /// A callback of the app threw; the exception's text is in the message.
  callback_failed,
};

/// The stable name of a code, such as "content_type".
const char* to_string(ErrorCode code) noexcept;

/// "HTTP 404 Not Found": a status with its standard reason phrase (the number alone when the
/// status is unusual), as ssekit's own messages name it. For tools that report an Error's
/// http_status in their own words.
std::string describe_http_status(int status);

/// An error: our code, what caused it underneath, and a message for people.
struct Error {
  /// What went wrong; ErrorCode::ok when nothing did.
  ErrorCode code = ErrorCode::ok;

  /// The HTTP status that caused it, 0 if none.
  int http_status = 0;

  /// The libcurl CURLcode that caused it, 0 if none (kept as int: no curl types in public headers).
  int transport_code = 0;

  /// What happened, naming the action and the object, with secrets redacted.
  std::string message;

  /// True when this is an error, so `if (ssekit::Error e = client.start())` reads naturally.
  explicit operator bool() const noexcept { return code != ErrorCode::ok; }

  /// True when the client goes on by itself after this error (reconnect or skip).
  bool recoverable() const noexcept;
};

}  // namespace ssekit
