// Following an event stream over HTTP with ssekit::Client.
#include "http_stream.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "duration.hpp"
#include "exit_status.hpp"
#include "signals.hpp"
#include "ssekit/client.hpp"

namespace ssetail {
namespace {

/// How often the main thread looks at the stop flag while the client runs.
constexpr std::chrono::milliseconds kStopCheckInterval{100};

/// What the client's thread tells the main thread, and what the messages need to know.
struct StreamWatch {
  std::mutex mutex;
  std::condition_variable changed;
  bool finished = false;                   // the client closed, or the tail needs no more
  std::optional<ssekit::Outcome> outcome;  // the last attempt's response, for content_type
  ssekit::Error last_failure;              // the last recoverable failure, for retries_exhausted
};

/// The URL as messages show it: a password in it and the --query-token value replaced.
std::string display_url(const TailOptions& options) {
  std::string url = options.url;
  const std::size_t authority = url.find("://") + std::string_view("://").size();
  const std::size_t at = url.find('@', authority);
  const std::size_t authority_end = url.find_first_of("/?#", authority);
  if (at != std::string::npos && at < authority_end) {
    const std::size_t colon = url.find(':', authority);
    if (colon < at) url.replace(colon + 1, at - colon - 1, "[redacted]");
  }
  if (options.query_token) {
    url += url.find('?') == std::string::npos ? '?' : '&';
    url += options.query_token->first + "=[redacted]";
  }
  return url;
}

class StreamReport {
 public:
  StreamReport(const TailOptions& options, const StatusLog& log, StreamWatch& watch)
      : options_(options),
        log_(log),
        watch_(watch),
        target_(options.method + " " + display_url(options)) {}

  /// What went wrong, in a few words: "HTTP 503 Service Unavailable".
  std::string cause(const ssekit::Error& error) const {
    switch (error.code) {
      case ssekit::ErrorCode::http_retryable:
      case ssekit::ErrorCode::http_status:
      case ssekit::ErrorCode::unauthorized:
        if (error.http_status != 0) return ssekit::describe_http_status(error.http_status);
        break;
      case ssekit::ErrorCode::stale:
        return "a stale link: nothing received for " + describe_duration(options_.idle_timeout);
      case ssekit::ErrorCode::stream_ended:
        return "the server ended the stream";
      case ssekit::ErrorCode::server_closed:
        return "the server answered HTTP 204 No Content";
      case ssekit::ErrorCode::content_type:
        return content_type_cause();
      case ssekit::ErrorCode::retries_exhausted:
        return retries_cause();
      default:
        break;
    }
    return error.message.empty() ? ssekit::to_string(error.code)
                                 : log_.redact(without_request(error.message));
  }

  /// One line per state change; a reconnect is also a notice without --verbose.
  void state_changed(const ssekit::StateChange& change) const {
    switch (change.state) {
      case ssekit::State::idle:
        break;
      case ssekit::State::connecting:
        if (change.attempt == 0) {
          log_.change("connecting: " + target_);
        } else {
          log_.change("connecting: " + target_ + " (reconnect " + std::to_string(change.attempt) +
                      ")");
        }
        break;
      case ssekit::State::open:
        log_.change("open");
        break;
      case ssekit::State::waiting:
        log_.notice("reconnecting in " + describe_duration(change.delay) + " after " +
                    cause(change.reason));
        break;
      case ssekit::State::closed:
        if (change.reason.code == ssekit::ErrorCode::closed_by_app) {
          log_.change("closed");
        } else {
          log_.change("closed: " + cause(change.reason));
        }
        break;
    }
  }

  /// The fatal error line for a client that closed with `reason`: the action, the URL, the
  /// cause, and for a refusal a hint at the flags that carry credentials.
  std::string failure(const ssekit::Error& reason) const {
    switch (reason.code) {
      case ssekit::ErrorCode::unauthorized:
        return target_ + ": " + cause(reason) + " (check --bearer, --cookie or --header)";
      default:
        return target_ + ": " + cause(reason);
    }
  }

 private:
  std::string content_type_cause() const {
    std::lock_guard<std::mutex> lock(watch_.mutex);
    if (!watch_.outcome) return "the response is not text/event-stream";
    if (watch_.outcome->content_type.empty()) {
      return "expected Content-Type text/event-stream, got a response without one";
    }
    return "expected Content-Type text/event-stream, got " + watch_.outcome->content_type;
  }

  std::string retries_cause() const {
    const unsigned retries = options_.max_retries.value_or(0);
    std::string text = "gave up after " + std::to_string(retries) + " reconnect attempt" +
                       (retries == 1 ? "" : "s") + " (--max-retries)";
    ssekit::Error last;
    {
      std::lock_guard<std::mutex> lock(watch_.mutex);
      last = watch_.last_failure;
    }
    if (last) text += "; the last failed with " + cause(last);
    return text;
  }

  /// The client's messages open with "GET <url>: "; the lines here say that once, themselves.
  /// A URL holds no space, so the first ": " after the method ends it.
  std::string without_request(const std::string& message) const {
    const std::string method = options_.method + " ";
    if (message.rfind(method, 0) != 0) return message;
    const std::size_t end = message.find(": ", method.size());
    return end == std::string::npos ? message : message.substr(end + 2);
  }

  const TailOptions& options_;
  const StatusLog& log_;
  StreamWatch& watch_;
  std::string target_;
};

ssekit::ClientOptions client_options(const TailOptions& options,
                                     const std::optional<std::string>& start_id,
                                     StreamWatch& watch) {
  ssekit::ClientOptions client;
  client.url = options.url;
  client.method = options.method;
  client.body = options.body;
  client.headers = options.headers;
  client.bearer_token = options.bearer_token;
  client.cookies = options.cookies;
  client.query_token = options.query_token;
  client.last_event_id = start_id.value_or("");

  client.reconnect = options.reconnect;
  client.reconnect_policy.initial = options.backoff_initial;
  client.reconnect_policy.max = options.backoff_max;
  // The policy counts failed attempts, the first connection included; --max-retries counts
  // only the reconnects after it.
  if (options.max_retries) client.reconnect_policy.max_attempts = *options.max_retries + 1;
  client.idle_timeout = options.idle_timeout;

  client.http_version = options.http_version;
  client.tls.verify = !options.insecure;
  client.tls.ca_file = options.ca_file;

  // The built-in decisions, watched: the content type of a refused response is only here.
  client.policy = [&watch](const ssekit::Outcome& outcome) {
    std::lock_guard<std::mutex> lock(watch.mutex);
    watch.outcome = outcome;
    return ssekit::classify(outcome);
  };
  return client;
}

bool is_usage_error(ssekit::ErrorCode code) {
  return code == ssekit::ErrorCode::invalid_url || code == ssekit::ErrorCode::invalid_header ||
         code == ssekit::ErrorCode::invalid_option;
}

/// The exit status for a client that closed by itself with `reason`.
int exit_status_for_close(const ssekit::Error& reason, const StreamReport& report,
                          const StatusLog& log) {
  switch (reason.code) {
    case ssekit::ErrorCode::ok:
    case ssekit::ErrorCode::server_closed:
    case ssekit::ErrorCode::stream_ended:
    case ssekit::ErrorCode::closed_by_app:
      return kExitDone;
    default:
      log.error(report.failure(reason));
      return kExitFailed;
  }
}

}  // namespace

int tail_url(const TailOptions& options, const std::optional<std::string>& start_id, Tail& tail,
             const StatusLog& log) {
  StreamWatch watch;
  StreamReport report(options, log, watch);
  ssekit::Client client(client_options(options, start_id, watch));

  auto finish = [&watch] {
    std::lock_guard<std::mutex> lock(watch.mutex);
    watch.finished = true;
    watch.changed.notify_all();
  };

  // Events are printed on the client's thread: a slow reader of stdout then slows the socket
  // reads too (TCP back-pressure) instead of piling events up in memory.
  client.on_event([&tail, &client, &finish](const ssekit::Event& event) {
    if (tail.accept(event) == TailStatus::more) return;
    client.close();
    finish();
  });
  client.on_error([&watch, &log](const ssekit::Error& error) {
    // A parser limit skips one line or event and the stream goes on: worth a notice, but it is
    // no cause of a reconnect.
    if (error.code == ssekit::ErrorCode::line_too_long ||
        error.code == ssekit::ErrorCode::event_too_large) {
      log.notice("skipped part of the stream: " + log.redact(error.message));
      return;
    }
    if (!error.recoverable()) return;
    std::lock_guard<std::mutex> lock(watch.mutex);
    watch.last_failure = error;
  });
  client.on_state([&report, &finish](const ssekit::StateChange& change) {
    report.state_changed(change);
    if (change.state == ssekit::State::closed) finish();
  });

  if (const ssekit::Error error = client.start()) {
    if (!is_usage_error(error.code)) {
      log.error(report.failure(error));
      return kExitFailed;
    }
    log.usage_error(report.failure(error));
    return kExitUsage;
  }

  {
    std::unique_lock<std::mutex> lock(watch.mutex);
    while (!watch.finished && !stop_requested()) {
      watch.changed.wait_for(lock, kStopCheckInterval);
    }
  }
  client.close();

  if (stop_requested()) return stop_exit_status();
  if (tail.status() != TailStatus::more) return exit_status_for(tail, log);
  return exit_status_for_close(client.close_reason(), report, log);
}

}  // namespace ssetail
