// client.cpp: the per-stream state machine.
//
// One Client::Impl per stream. Its state belongs to the loop thread: every transition (a
// response head, body bytes, the end of a transfer, a timer, close()) happens there, which is
// what makes "one reconnect per burst of errors" and "nothing after close()" hold without
// locks. Other threads touch only the pull queue and the published counters, under `mutex_`
// or through atomics.
#include "ssekit/client.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <utility>

#include "loop_core.hpp"
#include "policy.hpp"
#include "redact.hpp"
#include "ssekit/loop.hpp"
#include "transport.hpp"

namespace ssekit {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// "2.1 s" for log lines; "40 ms" below a tenth of a second so short test delays stay readable.
std::string format_duration(milliseconds delay) {
  char text[32];
  if (delay.count() < 100) {
    std::snprintf(text, sizeof text, "%lld ms", static_cast<long long>(delay.count()));
  } else {
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(delay.count()) / 1000.0);
  }
  return text;
}

// Short cause for "reconnecting in 2.1 s (attempt 3) after HTTP 503".
std::string short_cause(const Error& error) {
  if (error.http_status != 0 && error.code != ErrorCode::stream_ended &&
      error.code != ErrorCode::stale) {
    return "HTTP " + std::to_string(error.http_status);
  }
  switch (error.code) {
    case ErrorCode::stream_ended:
      return "the server ended the stream";
    case ErrorCode::stale:
      return "a stale link";
    case ErrorCode::network:
      return "a network error";
    default:
      return to_string(error.code);
  }
}

bool is_token_char(char c) {
  // RFC 9110 tchar: what a header name or method may consist of.
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

Error invalid(ErrorCode code, std::string message) {
  return Error{code, 0, 0, std::move(message)};
}

// App headers kept on a redirect to another origin: they describe the request, not the caller.
bool survives_cross_origin(std::string_view name) {
  for (std::string_view safe : {"Accept", "Accept-Language", "Content-Type", "Content-Language",
                                "User-Agent", "Cache-Control"}) {
    if (detail::iequals(name, safe)) return true;
  }
  return false;
}

}  // namespace

const char* to_string(State state) noexcept {
  switch (state) {
    case State::idle:
      return "idle";
    case State::connecting:
      return "connecting";
    case State::open:
      return "open";
    case State::waiting:
      return "waiting";
    case State::closed:
      return "closed";
  }
  return "unknown";
}

struct Client::Impl final : std::enable_shared_from_this<Client::Impl>,
                            EventParser::Handler,
                            detail::Transfer,
                            detail::TransportSink {
  explicit Impl(ClientOptions opts)
      : options(std::move(opts)),
        parser(options.limits),
        transport(*this, static_cast<Transfer*>(this)) {}

  // ---- Set before start(), read-only afterwards.
  ClientOptions options;
  std::function<void()> open_callback;
  std::function<void(const Event&)> event_callback;
  std::function<void(std::string_view)> comment_callback;
  std::function<void(const StateChange&)> state_callback;
  std::function<void(const Error&)> error_callback;
  std::shared_ptr<Loop> loop;
  bool owns_loop = false;
  detail::Redactor redactor;
  std::string display_url;   // options.url with the query token, redacted
  std::string request_text;  // "GET <display_url>", the subject of error messages

  // ---- Shared with other threads.
  mutable std::mutex mutex;  // guards everything in this block that is not atomic
  std::condition_variable queue_changed;
  std::deque<Event> queue;
  bool started = false;
  bool finished = false;         // closed: next() stops waiting
  bool close_completed = false;  // close() has done its work once
  Error reason;                  // why closed
  std::string published_last_event_id;
  std::atomic<State> current_state{State::idle};
  // Written by the loop thread only (see count()), read by stats() from any thread.
  std::atomic<std::uint64_t> bytes{0}, events{0}, comments{0}, connects{0}, reconnects{0};
  std::atomic<Clock::rep> last_byte_ticks{0};

  // ---- Loop thread only.
  EventParser parser;
  detail::Transport transport;
  bool closed = false;
  bool transfer_active = false;
  bool opened = false;  // this attempt's response opened the stream
  bool redirect_pending = false;
  bool reauth_tried = false;      // a 401/403 was answered with fresh credentials once
  bool paused = false;            // receiving paused: the pull queue is full
  std::optional<Action> decided;  // action taken on a response head that did not open
  Outcome decided_outcome;
  std::string decided_reason;
  unsigned attempt = 0;  // consecutive failed attempts; the next reconnect's number
  unsigned redirects = 0;
  std::optional<milliseconds> server_retry;
  std::string probing_origin;  // the origin whose HTTP version this attempt is finding out
  std::uint64_t request_generation = 0;  // bumped per request sent or stopped: stale tasks no-op
  std::string current_url;               // the URL of this hop (differs after a redirect)
  std::string current_method;
  bool send_body = false;
  std::string provider_token;
  std::optional<Credentials> fresh_credentials;
  Clock::time_point opened_at{};
  Clock::time_point last_activity{};
  Clock::time_point disconnected_since{};
  detail::LoopCore::TimerId watchdog_timer = 0;
  detail::LoopCore::TimerId reconnect_timer = 0;

  detail::LoopCore& core() { return loop->core(); }
  Clock::time_point now() const { return options.clock ? options.clock() : Clock::now(); }

  // -------------------------------------------------------------------------------------------
  // Logging and callbacks

  void log(LogLevel level, const std::string& line) {
    if (!options.logger || level < options.log_level) return;
    try {
      options.logger(level, line);
    } catch (...) {
      // A throwing logger loses its line; it must not take the stream down.
    }
  }

  // Counters have one writer, the loop thread, so a load and a store will do, and spare each
  // event a locked read-modify-write. A reader on another thread still sees whole values.
  static void count(std::atomic<std::uint64_t>& counter, std::uint64_t amount = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
  }

  /// Runs an app callback. An exception closes the stream with callback_failed. Returns false
  /// when the stream is closed afterwards (the callback closed it, or threw).
  template <typename F, typename... Args>
  bool call(F& callback, Args&&... args) {
    if (!callback || closed) return !closed;
    try {
      callback(std::forward<Args>(args)...);
    } catch (const std::exception& e) {
      finish(Error{ErrorCode::callback_failed, 0, 0,
                   std::string("a callback threw: ") + redactor.scrub(e.what())});
    } catch (...) {
      finish(Error{ErrorCode::callback_failed, 0, 0, "a callback threw a non-exception"});
    }
    return !closed;
  }

  void report_error(const Error& error) {
    if (error_callback) call(error_callback, error);
  }

  /// Records and announces a state change. Returns false when the stream closed meanwhile.
  bool enter(State state, milliseconds delay = milliseconds(0), unsigned number = 0,
             Error why = {}) {
    current_state.store(state);
    StateChange change;
    change.state = state;
    change.delay = delay;
    change.attempt = number;
    change.reason = std::move(why);
    return call(state_callback, change);
  }

  // -------------------------------------------------------------------------------------------
  // Validation (start(), any thread)

  Error validate() {
    if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
      return invalid(ErrorCode::invalid_url, "not an absolute http:// or https:// URL");
    }
    if (detail::origin_of(options.url).empty() ||
        options.url.find_first_of(std::string_view(" \r\n\t\0", 5)) != std::string::npos) {
      return invalid(ErrorCode::invalid_url, "the URL does not parse");
    }
    if (!is_token(options.method)) {
      return invalid(ErrorCode::invalid_option, "the HTTP method is not a token");
    }
    for (const auto& [name, value] : options.headers) {
      if (!is_token(name))
        return invalid(ErrorCode::invalid_header, "a header name is not a token");
      if (detail::has_line_break_or_nul(value)) {
        return invalid(ErrorCode::invalid_header, "header " + name + " holds CR, LF or NUL");
      }
    }
    if (detail::has_line_break_or_nul(options.bearer_token)) {
      return invalid(ErrorCode::invalid_header, "the bearer token holds CR, LF or NUL");
    }
    if (detail::has_line_break_or_nul(options.cookies)) {
      return invalid(ErrorCode::invalid_header, "the cookies hold CR, LF or NUL");
    }
    if (detail::has_line_break_or_nul(options.last_event_id)) {
      return invalid(ErrorCode::invalid_header, "the last event ID holds CR, LF or NUL");
    }
    if (options.query_token) {
      if (options.query_token->first.empty() ||
          detail::has_line_break_or_nul(options.query_token->first) ||
          detail::has_line_break_or_nul(options.query_token->second)) {
        return invalid(ErrorCode::invalid_header,
                       "the query token is empty or holds CR, LF or NUL");
      }
    }
    const auto& policy = options.reconnect_policy;
    if (policy.initial.count() < 0 || policy.max.count() < 0 || policy.reset_after.count() < 0 ||
        policy.max_server_retry.count() < 0 ||
        (policy.max_disconnected && policy.max_disconnected->count() < 0) ||
        options.idle_timeout.count() < 0 || options.connect_timeout.count() < 0 ||
        options.max_redirects < 0) {
      return invalid(ErrorCode::invalid_option, "a duration or limit is negative");
    }
    return {};
  }

  void prepare_for_start() {
    redactor.add_secret(options.bearer_token);
    redactor.add_secret(options.cookies);
    for (const auto& [name, value] : options.headers) {
      if (detail::is_credential_header(name)) redactor.add_secret(value);
    }
    std::string url = options.url;
    std::string token_name;
    if (options.query_token) {
      token_name = detail::url_encode(options.query_token->first);
      redactor.add_secret(options.query_token->second);
      redactor.add_secret(detail::url_encode(options.query_token->second));
      const std::size_t fragment = url.find('#');
      if (fragment != std::string::npos) url.resize(fragment);
      url += url.find('?') == std::string::npos ? '?' : '&';
      url += token_name + "=" + detail::url_encode(options.query_token->second);
    }
    options.url = std::move(url);
    display_url = redactor.display_url(options.url, token_name);
    request_text = options.method + " " + display_url;
    if (!options.random) options.random = default_random_source();
    parser.set_last_event_id(options.last_event_id);
    published_last_event_id = options.last_event_id;
  }

  // -------------------------------------------------------------------------------------------
  // Attempts

  void begin() {
    if (closed) return;
    if (Error error = transport.configure(options)) {
      finish(error);
      return;
    }
    disconnected_since = now();
    start_attempt();
  }

  /// Builds the header list of this hop: ours, the app's, and credentials when the hop stays on
  /// the origin of the stream's URL.
  std::vector<Header> request_headers(bool with_credentials) {
    std::vector<Header> headers;
    auto has = [&](std::string_view name) {
      return std::any_of(headers.begin(), headers.end(),
                         [&](const Header& h) { return detail::iequals(h.first, name); });
    };
    auto put = [&](const std::string& name, const std::string& value) {
      for (auto& header : headers) {
        if (detail::iequals(header.first, name)) {
          header.second = value;
          return;
        }
      }
      headers.emplace_back(name, value);
    };

    for (const auto& header : options.headers) {
      if (with_credentials || survives_cross_origin(header.first)) put(header.first, header.second);
    }
    if (with_credentials && fresh_credentials) {
      for (const auto& header : fresh_credentials->headers)
        put(header.first, header.second);
    }
    if (!has("Accept")) headers.emplace_back("Accept", "text/event-stream");
    if (!has("Cache-Control")) headers.emplace_back("Cache-Control", "no-cache");
    // WHATWG HTML: the Last-Event-ID header carries the last event ID string, unless empty.
    if (!parser.last_event_id().empty()) put("Last-Event-ID", parser.last_event_id());

    if (with_credentials) {
      std::string token = options.bearer_token;
      if (fresh_credentials && !fresh_credentials->bearer_token.empty()) {
        token = fresh_credentials->bearer_token;
      }
      if (!provider_token.empty()) token = provider_token;
      if (!token.empty()) put("Authorization", "Bearer " + token);
      if (!options.cookies.empty()) put("Cookie", options.cookies);
    }
    return headers;
  }

  void start_attempt() {
    reconnect_timer = 0;
    if (closed) return;
    redirects = 0;
    current_url = options.url;
    current_method = options.method;
    send_body = !options.body.empty() || (options.method != "GET" && options.method != "HEAD");

    if (!enter(State::connecting, milliseconds(0), attempt)) return;
    log(LogLevel::info, attempt == 0 ? "connecting to " + display_url
                                     : "connecting to " + display_url + " (attempt " +
                                           std::to_string(attempt) + ")");

    if (options.token_provider) {
      std::string token;
      if (!call_token_provider(token)) return;
      provider_token = std::move(token);
    }
    send_request();
  }

  bool call_token_provider(std::string& token) {
    try {
      token = options.token_provider();
    } catch (const std::exception& e) {
      finish(Error{ErrorCode::callback_failed, 0, 0,
                   std::string("the token provider threw: ") + redactor.scrub(e.what())});
      return false;
    } catch (...) {
      finish(Error{ErrorCode::callback_failed, 0, 0, "the token provider threw"});
      return false;
    }
    redactor.add_secret(token);
    if (detail::has_line_break_or_nul(token)) {
      finish(invalid(ErrorCode::invalid_header, "the token provider returned CR, LF or NUL"));
      return false;
    }
    return !closed;
  }

  /// Sends the request of the current hop (the stream's URL, or a redirect's target). With
  /// HttpVersion::automatic, the first stream to an https origin the loop knows nothing of
  /// negotiates alone; streams to it meanwhile wait, then share its connection if it is HTTP/2.
  void send_request() {
    const std::string origin = detail::origin_of(current_url);
    bool expect_http2 = options.http_version == HttpVersion::http2;
    if (options.http_version == HttpVersion::automatic && origin.rfind("https:", 0) == 0) {
      auto& state = core().origins()[origin];
      if (!state.known && state.probing && probing_origin.empty()) {
        const auto generation = ++request_generation;
        state.waiting.push_back([self = shared_from_this(), generation] {
          if (!self->closed && self->request_generation == generation) self->send_request();
        });
        return;
      }
      if (!state.known && !state.probing) {
        state.probing = true;
        probing_origin = origin;
      }
      expect_http2 = state.known && state.http2;
    }

    const bool same_origin = origin == detail::origin_of(options.url);
    detail::RequestSpec request;
    request.url = current_url;
    request.method = current_method;
    request.body = send_body ? &options.body : nullptr;
    request.headers = request_headers(same_origin);
    request.expect_http2 = expect_http2;

    opened = false;
    redirect_pending = false;
    decided.reset();
    parser.reset();
    if (Error error = transport.prepare(request)) {
      finish(error);
      return;
    }
    last_activity = now();
    if (core().add_transfer(transport.easy()) != CURLM_OK) {
      finish(invalid(ErrorCode::invalid_option, "cannot add the transfer to the loop"));
      return;
    }
    transfer_active = true;
    arm_watchdog(options.idle_timeout);
  }

  /// Ends this stream's negotiation for its origin: records what it learned (when a response
  /// head came) and lets the streams waiting for it go on.
  void end_probe(bool learned, bool http2) {
    if (probing_origin.empty()) return;
    auto& state = core().origins()[probing_origin];
    probing_origin.clear();
    state.probing = false;
    if (learned) {
      state.known = true;
      state.http2 = http2;
    }
    for (auto& task : state.waiting)
      core().post(std::move(task));
    state.waiting.clear();
  }

  void stop_transfer() {
    ++request_generation;
    end_probe(false, false);
    core().cancel_timer(watchdog_timer);
    watchdog_timer = 0;
    if (!transfer_active) return;
    transfer_active = false;
    paused = false;
    core().remove_transfer(transport.easy());
  }

  // -------------------------------------------------------------------------------------------
  // Transport callbacks (inside libcurl, loop thread)

  void on_activity() override { last_activity = now(); }

  bool on_head(const detail::ResponseHead& head) override {
    if (closed) return false;
    end_probe(true, transport.negotiated_http2());
    if (is_redirect(head.status) && head.has_location) {
      redirect_pending = true;  // drain the short body; the connection stays reusable
      return true;
    }
    Outcome outcome;
    outcome.http_status = head.status;
    outcome.content_type = head.content_type;
    outcome.retry_after = head.retry_after;
    const auto action = decide(outcome);
    if (!action) return false;
    if (*action == Action::open) return open_stream();
    decided = *action;
    decided_outcome = std::move(outcome);
    decided_reason = head.reason;
    return false;  // the transfer ends now; on_transfer_done acts on the decision
  }

  bool on_body(std::string_view data) override {
    if (closed) return false;
    if (!opened) return true;  // a redirect's body
    const auto at = now();
    last_activity = at;
    last_byte_ticks.store(at.time_since_epoch().count(), std::memory_order_relaxed);
    count(bytes, data.size());

    parser.feed(data, *this);
    if (closed) return false;
    publish_last_event_id();
    return true;
  }

  bool open_stream() {
    opened = true;
    opened_at = now();
    long connections = 0;
    curl_easy_getinfo(transport.easy(), CURLINFO_NUM_CONNECTS, &connections);
    core().count_connections(connections);
    reauth_tried = false;
    count(connects);
    if (!enter(State::open)) return false;
    log(LogLevel::info, "open");
    if (!call(open_callback)) return false;
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Parser callbacks (inside libcurl, loop thread)

  void on_event(const Event& event) override {
    if (closed) return;
    count(events);
    if (event_callback) {
      call(event_callback, event);
      return;
    }
    std::size_t queued = 0;
    {
      std::lock_guard<std::mutex> lock(mutex);
      queue.push_back(event);
      queued = queue.size();
    }
    queue_changed.notify_one();
    if (options.max_queued_events != 0 && queued >= options.max_queued_events && !paused) {
      pause_receiving();
    }
  }

  void on_comment(std::string_view text) override {
    if (closed) return;
    count(comments);
    call(comment_callback, text);
  }

  void on_retry(milliseconds delay) override {
    server_retry = std::min(delay, options.reconnect_policy.max_server_retry);
  }

  void on_error(const Error& error) override { report_error(error); }

  void publish_last_event_id() {
    // Only this thread writes published_last_event_id, so it may compare it without the lock;
    // a chunk that moved no id then costs no lock at all.
    const std::string& id = parser.last_event_id();
    if (published_last_event_id == id) return;
    std::lock_guard<std::mutex> lock(mutex);
    published_last_event_id = id;
  }

  // -------------------------------------------------------------------------------------------
  // Back-pressure of the pull queue

  void pause_receiving() {
    // Pausing from inside the write callback is not allowed: do it right after it returns. A
    // chunk or two more may be queued meanwhile; the bound is soft by that much.
    paused = true;
    core().post([self = shared_from_this()] {
      if (self->closed || !self->transfer_active || !self->paused) return;
      self->core().pause(self->transport.easy(), CURLPAUSE_RECV);
    });
  }

  void resume_receiving() {
    if (closed || !paused) return;
    paused = false;
    last_activity = now();  // the silence while paused was ours, not the server's
    if (transfer_active) core().pause(transport.easy(), CURLPAUSE_CONT);
  }

  // -------------------------------------------------------------------------------------------
  // End of a transfer, the watchdog, decisions

  std::optional<Action> decide(const Outcome& outcome) {
    if (!options.policy) return classify(outcome);
    try {
      return options.policy(outcome);
    } catch (const std::exception& e) {
      finish(Error{ErrorCode::callback_failed, 0, 0,
                   std::string("the policy callback threw: ") + redactor.scrub(e.what())});
    } catch (...) {
      finish(Error{ErrorCode::callback_failed, 0, 0, "the policy callback threw"});
    }
    return std::nullopt;
  }

  void on_transfer_done(CURLcode result) override {
    const std::string redirect_to = redirect_pending ? transport.redirect_url() : std::string();
    stop_transfer();
    if (closed) return;

    if (redirect_pending && result == CURLE_OK && !redirect_to.empty()) {
      follow_redirect(redirect_to);
      return;
    }

    Outcome outcome;
    std::string server_reason;
    std::string detail;
    Action action = Action::fail;
    if (decided) {
      outcome = decided_outcome;
      server_reason = decided_reason;
      action = *decided;
    } else {
      if (opened) {
        outcome.http_status = 200;
        outcome.content_type = "text/event-stream";
      }
      outcome.transport = result == CURLE_OK
                              ? ErrorCode::stream_ended
                              : detail::map_curl_code(result, transport.error_detail());
      detail = curl_easy_strerror(result);
      if (!transport.error_detail().empty()) {
        detail.append(": ").append(redactor.scrub(transport.error_detail()));
      }
      const auto chosen = decide(outcome);
      if (!chosen) return;
      action = *chosen;
    }
    Error error = detail::outcome_error(outcome, request_text, server_reason, detail);
    if (result != CURLE_OK && !decided) error.transport_code = static_cast<int>(result);
    act(action, outcome, std::move(error));
  }

  void follow_redirect(const std::string& target) {
    if (++redirects > static_cast<unsigned>(options.max_redirects)) {
      finish(Error{
          ErrorCode::too_many_redirects, 0, 0,
          request_text + ": more than " + std::to_string(options.max_redirects) + " redirects"});
      return;
    }
    long status = 0;
    curl_easy_getinfo(transport.easy(), CURLINFO_RESPONSE_CODE, &status);
    // Browsers and libcurl turn a redirected POST into a GET on 301, 302 and 303; 307 and 308
    // repeat the request as it was.
    if (status == 303 || ((status == 301 || status == 302) && current_method == "POST")) {
      if (current_method != "HEAD") current_method = "GET";
      send_body = false;
    }
    current_url = target;
    log(LogLevel::debug, "redirected to " + redactor.display_url(target));
    send_request();
  }

  void act(Action action, const Outcome& outcome, Error error) {
    const bool was_open = opened;
    if (was_open) {
      disconnected_since = now();
    }
    switch (action) {
      case Action::open:  // the policy called a finished transfer open: read it again
      case Action::retry:
        report_error(error);
        if (!closed) schedule_reconnect(std::move(error), outcome.retry_after, was_open);
        return;
      case Action::reauth:
        reauthenticate(outcome, std::move(error));
        return;
      case Action::stop:
        finish(Error{ErrorCode::server_closed, outcome.http_status, 0,
                     request_text + ": the server asked to stop (" +
                         detail::describe_status(outcome.http_status) + ")"});
        return;
      case Action::fail:
        report_error(error);
        finish(std::move(error));
        return;
    }
  }

  void reauthenticate(const Outcome& outcome, Error error) {
    error.code = ErrorCode::unauthorized;
    report_error(error);
    if (closed) return;
    if (reauth_tried || (!options.on_unauthorized && !options.token_provider)) {
      finish(std::move(error));
      return;
    }
    reauth_tried = true;
    if (options.on_unauthorized) {
      std::optional<Credentials> credentials;
      try {
        credentials = options.on_unauthorized(outcome.http_status);
      } catch (...) {
        finish(Error{ErrorCode::callback_failed, 0, 0, "the credentials callback threw"});
        return;
      }
      if (!credentials) {
        finish(std::move(error));
        return;
      }
      for (const auto& [name, value] : credentials->headers) {
        if (!is_token(name) || detail::has_line_break_or_nul(value)) {
          finish(invalid(ErrorCode::invalid_header, "fresh credentials hold an invalid header"));
          return;
        }
        if (detail::is_credential_header(name)) redactor.add_secret(value);
      }
      if (detail::has_line_break_or_nul(credentials->bearer_token)) {
        finish(invalid(ErrorCode::invalid_header, "the fresh bearer token holds CR, LF or NUL"));
        return;
      }
      redactor.add_secret(credentials->bearer_token);
      fresh_credentials = std::move(credentials);
    }
    count(reconnects);
    log(LogLevel::info, "retrying with fresh credentials after " + short_cause(error));
    start_attempt();
  }

  void schedule_reconnect(Error why, std::optional<milliseconds> retry_after, bool was_open) {
    if (!options.reconnect) {
      finish(std::move(why));
      return;
    }
    const auto& policy = options.reconnect_policy;
    const auto at = now();
    // A connection that stayed open and fed bytes for reset_after was healthy: start over.
    if (was_open && Clock::time_point(Clock::duration(last_byte_ticks.load())) - opened_at >=
                        policy.reset_after) {
      attempt = 0;
    }
    ++attempt;

    if (policy.max_attempts && attempt >= *policy.max_attempts) {
      finish(Error{
          ErrorCode::retries_exhausted, why.http_status, why.transport_code,
          "gave up after " + std::to_string(attempt) + " failed attempts; last: " + why.message});
      return;
    }
    if (policy.max_disconnected && at - disconnected_since >= *policy.max_disconnected) {
      finish(Error{ErrorCode::retries_exhausted, why.http_status, why.transport_code,
                   "gave up after " + format_duration(*policy.max_disconnected) +
                       " without a connection; last: " + why.message});
      return;
    }

    ReconnectPolicy effective = policy;
    if (server_retry) effective.initial = *server_retry;
    milliseconds delay = backoff_delay(effective, attempt - 1, options.random());
    if (retry_after && *retry_after > delay)
      delay = std::min(*retry_after, policy.max_server_retry);

    count(reconnects);
    reconnect_timer = core().add_timer(Clock::now() + delay, [this] { start_attempt(); });
    log(why.code == ErrorCode::stream_ended ? LogLevel::info : LogLevel::warn,
        "reconnecting in " + format_duration(delay) + " (attempt " + std::to_string(attempt) +
            ") after " + short_cause(why));
    enter(State::waiting, delay, attempt, std::move(why));
  }

  void arm_watchdog(milliseconds after) {
    core().cancel_timer(watchdog_timer);
    watchdog_timer = 0;
    if (options.idle_timeout.count() == 0) return;
    watchdog_timer = core().add_timer(Clock::now() + after, [this] { on_watchdog(); });
  }

  void on_watchdog() {
    watchdog_timer = 0;
    if (closed || !transfer_active) return;
    const auto idle = now() - last_activity;
    if (paused || idle < options.idle_timeout) {
      const auto left = paused
                            ? options.idle_timeout
                            : std::chrono::duration_cast<milliseconds>(options.idle_timeout - idle);
      arm_watchdog(std::max(left, milliseconds(1)));
      return;
    }
    stop_transfer();
    const std::string silence = format_duration(options.idle_timeout);
    log(LogLevel::warn, "stale: no byte for " + silence);
    Outcome outcome;
    if (opened) {
      outcome.http_status = 200;
      outcome.content_type = "text/event-stream";
    }
    outcome.transport = ErrorCode::stale;
    const auto action = decide(outcome);
    if (!action) return;
    Error error{ErrorCode::stale, outcome.http_status, 0,
                request_text + ": no byte for " + silence};
    act(*action, outcome, std::move(error));
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  /// Moves to closed for good with `why`: stops the transfer and the timers and announces it.
  /// Inside a libcurl callback the handle is removed right after the callback returns.
  void finish(Error why) {
    if (closed) return;
    closed = true;
    core().cancel_timer(reconnect_timer);
    reconnect_timer = 0;
    if (core().in_curl()) {
      core().cancel_timer(watchdog_timer);
      watchdog_timer = 0;
      core().post([self = shared_from_this()] { self->stop_transfer(); });
    } else {
      stop_transfer();
    }
    publish_last_event_id();
    {
      std::lock_guard<std::mutex> lock(mutex);
      finished = true;
      reason = why;
    }
    queue_changed.notify_all();

    log(why.code == ErrorCode::closed_by_app || why.code == ErrorCode::server_closed
            ? LogLevel::info
            : LogLevel::error,
        "closed: " + (why.message.empty() ? std::string(to_string(why.code)) : why.message));
    current_state.store(State::closed);
    if (state_callback) {
      StateChange change;
      change.state = State::closed;
      change.reason = std::move(why);
      try {
        state_callback(change);
      } catch (...) {
        // Already closed: nothing left to fail.
      }
    }
  }

  /// close() from the app, on any thread.
  void close_from_app() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!started) {
        if (!finished) {
          finished = true;
          reason = Error{ErrorCode::closed_by_app, 0, 0, "closed by the app"};
          current_state.store(State::closed);
        }
        close_completed = true;
        queue_changed.notify_all();
        return;
      }
      if (close_completed && !loop->on_loop_thread()) return;
    }
    const Error why{ErrorCode::closed_by_app, 0, 0, "closed by the app"};
    if (loop->on_loop_thread()) {
      finish(why);
      return;
    }

    std::promise<void> done;
    auto done_future = done.get_future();
    auto self = shared_from_this();
    const bool posted = core().post([self, why, &done] {
      self->finish(why);
      done.set_value();
    });
    if (posted) done_future.wait();

    std::lock_guard<std::mutex> lock(mutex);
    if (!finished) {  // the loop was gone: nothing can run any more
      finished = true;
      reason = why;
      current_state.store(State::closed);
    }
    close_completed = true;
    queue_changed.notify_all();
  }
};

// ---------------------------------------------------------------------------------------------
// Client

Client::Client(ClientOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

Client::~Client() {
  if (!impl_) return;
  close();
}

void Client::on_open(std::function<void()> callback) {
  impl_->open_callback = std::move(callback);
}
void Client::on_event(std::function<void(const Event&)> callback) {
  impl_->event_callback = std::move(callback);
}
void Client::on_comment(std::function<void(std::string_view)> callback) {
  impl_->comment_callback = std::move(callback);
}
void Client::on_state(std::function<void(const StateChange&)> callback) {
  impl_->state_callback = std::move(callback);
}
void Client::on_error(std::function<void(const Error&)> callback) {
  impl_->error_callback = std::move(callback);
}

Error Client::start() {
  Impl& impl = *impl_;
  {
    std::lock_guard<std::mutex> lock(impl.mutex);
    if (impl.started || impl.finished) {
      return invalid(ErrorCode::invalid_option, "start() was called already, or after close()");
    }
    if (Error error = impl.validate()) return error;
    impl.prepare_for_start();
    if (impl.options.loop) {
      impl.loop = impl.options.loop;
    } else {
      impl.loop = std::make_shared<Loop>();
      impl.owns_loop = true;
    }
    impl.started = true;
  }
  if (!impl.core().start() || !impl.core().post([self = impl_] { self->begin(); })) {
    std::lock_guard<std::mutex> lock(impl.mutex);
    impl.finished = true;
    impl.reason = invalid(ErrorCode::invalid_option, "the loop has stopped");
    impl.current_state.store(State::closed);
    return impl.reason;
  }
  return {};
}

std::optional<Event> Client::next(std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  if (impl.event_callback) return std::nullopt;
  std::optional<Event> event;
  bool resume = false;
  {
    std::unique_lock<std::mutex> lock(impl.mutex);
    impl.queue_changed.wait_for(lock, timeout,
                                [&] { return !impl.queue.empty() || impl.finished; });
    if (impl.queue.empty()) return std::nullopt;
    event = std::move(impl.queue.front());
    impl.queue.pop_front();
    // Resume once the queue has drained to half its bound (hysteresis, not one wake per event).
    resume = impl.options.max_queued_events != 0 && !impl.finished &&
             impl.queue.size() == impl.options.max_queued_events / 2;
  }
  if (resume) {
    impl.core().post([self = impl_] { self->resume_receiving(); });
  }
  return event;
}

void Client::close() {
  if (!impl_) return;
  impl_->close_from_app();

  // The client's own loop thread is joined here, unless this is that thread (a callback).
  std::shared_ptr<Loop> own_loop;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->owns_loop) own_loop = impl_->loop;
  }
  if (own_loop && !own_loop->on_loop_thread()) own_loop->core().stop();
}

State Client::state() const {
  return impl_->current_state.load();
}

Error Client::close_reason() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->finished ? impl_->reason : Error{};
}

std::string Client::last_event_id() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->published_last_event_id;
}

Stats Client::stats() const {
  const Impl& impl = *impl_;
  Stats stats;
  stats.bytes = impl.bytes.load(std::memory_order_relaxed);
  stats.events = impl.events.load(std::memory_order_relaxed);
  stats.comments = impl.comments.load(std::memory_order_relaxed);
  stats.connects = impl.connects.load(std::memory_order_relaxed);
  stats.reconnects = impl.reconnects.load(std::memory_order_relaxed);
  stats.last_byte_at = Clock::time_point(Clock::duration(impl.last_byte_ticks.load()));
  std::lock_guard<std::mutex> lock(impl.mutex);
  stats.last_event_id = impl.published_last_event_id;
  return stats;
}

}  // namespace ssekit
