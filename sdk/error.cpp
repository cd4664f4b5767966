#include "ssekit/error.hpp"

#include "ssekit/log.hpp"

namespace ssekit {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok:
      return "ok";
    case ErrorCode::line_too_long:
      return "line_too_long";
    case ErrorCode::event_too_large:
      return "event_too_large";
    case ErrorCode::invalid_url:
      return "invalid_url";
    case ErrorCode::invalid_header:
      return "invalid_header";
    case ErrorCode::invalid_option:
      return "invalid_option";
    case ErrorCode::network:
      return "network";
    case ErrorCode::stale:
      return "stale";
    case ErrorCode::stream_ended:
      return "stream_ended";
    case ErrorCode::http_retryable:
      return "http_retryable";
    case ErrorCode::http_status:
      return "http_status";
    case ErrorCode::unauthorized:
      return "unauthorized";
    case ErrorCode::content_type:
      return "content_type";
    case ErrorCode::tls:
      return "tls";
    case ErrorCode::too_many_redirects:
      return "too_many_redirects";
    case ErrorCode::retries_exhausted:
      return "retries_exhausted";
    case ErrorCode::server_closed:
      return "server_closed";
    case ErrorCode::closed_by_app:
      return "closed_by_app";
    case ErrorCode::callback_failed:
      return "callback_failed";
  }
  return "unknown";
}

bool Error::recoverable() const noexcept {
  switch (code) {
    case ErrorCode::ok:
    case ErrorCode::line_too_long:
    case ErrorCode::event_too_large:
    case ErrorCode::network:
    case ErrorCode::stale:
    case ErrorCode::stream_ended:
    case ErrorCode::http_retryable:
      return true;
    default:
      return false;
  }
}

const char* to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
    case LogLevel::off:
      return "off";
  }
  return "unknown";
}

}  // namespace ssekit
