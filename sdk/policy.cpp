#include "policy.hpp"

#include "ssekit/options.hpp"

namespace ssekit {
namespace {

constexpr std::string_view kEventStream = "text/event-stream";

bool is_retried_status(int status) noexcept {
  switch (status) {
    case 408:  // Request Timeout
    case 429:  // Too Many Requests
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return false;
  }
}

}  // namespace

Action classify(const Outcome& outcome) noexcept {
  switch (outcome.transport) {
    case ErrorCode::ok:
      break;
    case ErrorCode::network:
    case ErrorCode::stale:
    case ErrorCode::stream_ended:
      return Action::retry;
    default:
      return Action::fail;  // tls, invalid_url, too_many_redirects, ...
  }

  const int status = outcome.http_status;
  if (status == 200) return outcome.content_type == kEventStream ? Action::open : Action::fail;
  // WHATWG HTML: 204 No Content is how a server tells an EventSource to stop reconnecting.
  if (status == 204) return Action::stop;
  if (is_retried_status(status)) return Action::retry;
  if (status == 401 || status == 403) return Action::reauth;
  if (status >= 400 && status < 500 && outcome.retry_after) return Action::retry;
  return Action::fail;
}

namespace detail {

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 418:
      return "I'm a teapot";
    case 422:
      return "Unprocessable Content";
    case 425:
      return "Too Early";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string describe_status(int status, std::string_view server_reason) {
  std::string text = "HTTP " + std::to_string(status);
  const std::string_view reason = server_reason.empty() ? reason_phrase(status) : server_reason;
  if (!reason.empty()) text.append(" ").append(reason);
  return text;
}

Error outcome_error(const Outcome& outcome, std::string_view request,
                    std::string_view server_reason, std::string_view detail) {
  Error error;
  error.http_status = outcome.http_status;
  std::string what;

  if (outcome.transport != ErrorCode::ok) {
    error.code = outcome.transport;
    switch (outcome.transport) {
      case ErrorCode::stream_ended:
        what = "the server ended the stream";
        break;
      case ErrorCode::stale:
        what = "no byte within the idle timeout";
        break;
      default:
        what = std::string(detail.empty() ? to_string(outcome.transport) : detail);
    }
  } else if (outcome.http_status == 200 && outcome.content_type != kEventStream) {
    error.code = ErrorCode::content_type;
    what = outcome.content_type.empty()
               ? std::string("expected text/event-stream, got no Content-Type")
               : "expected text/event-stream, got " + outcome.content_type;
  } else {
    const int status = outcome.http_status;
    if (status == 401 || status == 403) {
      error.code = ErrorCode::unauthorized;
    } else if (status == 204) {
      error.code = ErrorCode::server_closed;
    } else if (is_retried_status(status) ||
               (status >= 400 && status < 500 && outcome.retry_after)) {
      error.code = ErrorCode::http_retryable;
    } else {
      error.code = ErrorCode::http_status;
    }
    what = describe_status(status, server_reason);
  }

  error.message.reserve(request.size() + 2 + what.size());
  error.message.append(request).append(": ").append(what);
  return error;
}

}  // namespace detail

std::string describe_http_status(int status) {
  return detail::describe_status(status);
}

}  // namespace ssekit
