#include "bridge.hpp"

#include <cerrno>
#include <cstring>

#include "log.hpp"
#include "page.hpp"
#include "validate.hpp"

namespace ssebridge {
namespace {

// Seconds a client should wait before retrying a 503.
constexpr int kRetryAfterSeconds = 2;
// Server threads beyond --max-clients, for requests that are not streams (publish, health,
// metrics, the page, and the 503 answers to streams over the limit).
constexpr size_t kSpareThreads = 16;
// An idle keep-alive connection holds a server thread: it is closed after this long.
constexpr time_t kKeepAliveSeconds = 5;

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

StreamSettings stream_settings_of(const Config& config) {
  StreamSettings settings;
  settings.retry = config.retry;
  settings.heartbeat = config.heartbeat;
  return settings;
}

QueueLimits queue_limits_of(const Config& config) {
  QueueLimits limits;
  limits.max_events = config.client_queue;
  return limits;
}

void send_unavailable(httplib::Response& res, const std::string& reason) {
  res.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
  send_error(res, 503, reason);
}

template <class T>
void send_failure(httplib::Response& res, const Result<T>& result) {
  if (result.failure == Result<T>::Failure::bad_request) {
    send_error(res, 400, result.reason);
  } else {
    send_unavailable(res, result.reason);
  }
}

}  // namespace

void send_error(httplib::Response& res, int status, const std::string& reason) {
  res.status = status;
  res.set_content(reason + "\n", "text/plain; charset=utf-8");
}

std::string peer_of(const httplib::Request& req) {
  return req.remote_addr + ":" + std::to_string(req.remote_port);
}

std::optional<std::int64_t> last_event_id_of(const httplib::Request& req, std::string& error) {
  std::string text;
  std::string source;
  if (req.has_header("Last-Event-ID")) {
    text = req.get_header_value("Last-Event-ID");
    source = "Last-Event-ID";
  } else if (req.has_param("lastEventId")) {
    text = req.get_param_value("lastEventId");
    source = "lastEventId";
  }
  // An empty id is what a client sends after a server reset it with an empty `id:` field.
  if (text.find_first_not_of(' ') == std::string::npos) return std::nullopt;
  const auto id = parse_event_id(text);
  if (!id) error = source + " is not an event id (decimal digits)";
  return id;
}

Bridge::Bridge(const Config& config, std::unique_ptr<Store> store, Metrics& metrics)
    : config_(config),
      metrics_(metrics),
      slots_(config.max_clients),
      stream_settings_(stream_settings_of(config)),
      store_(std::move(store)),
      live_writer_(metrics, config.heartbeat, queue_limits_of(config)),
      demo_(config.demo_interval),
      faults_(slots_) {
  if (!config_.auth_secret.empty()) {
    auth_ = std::make_unique<Authenticator>(config_.auth_secret, config_.auth_cookie);
  }
  store_->hub().set_drop_handler([this](const Subscription& subscription) {
    metrics_.slow_clients_dropped.fetch_add(1, std::memory_order_relaxed);
    log_warn("client " + subscription.peer() + " dropped: its send queue is full (" +
             std::to_string(config_.client_queue) +
             " events); it will reconnect and replay what it missed");
  });
  add_routes();
}

Bridge::~Bridge() {
  stop();
}

void Bridge::add_routes() {
  server_.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kPageHtml, "text/html; charset=utf-8");
  });
  server_.Get("/healthz",
              [this](const httplib::Request&, httplib::Response& res) { get_healthz(res); });
  server_.Get("/metrics",
              [this](const httplib::Request&, httplib::Response& res) { get_metrics(res); });
  server_.Get("/events", [this](const httplib::Request& req, httplib::Response& res) {
    get_events(req, res);
  });
  server_.Post("/events",
               [this](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) { post_events(req, res, reader); });
  server_.Get("/demo/ticks", [this](const httplib::Request& req, httplib::Response& res) {
    get_demo_ticks(req, res);
  });
  if (config_.faults) faults_.add_routes(server_);
}

bool Bridge::bind(std::string& error) {
  const size_t threads = config_.max_clients + kSpareThreads;
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Events are small writes that must leave at once: no Nagle delay.
  server_.set_tcp_nodelay(true);
  // cpp-httplib's default also sets SO_REUSEPORT, which would let a second bridge share the
  // port silently; a port in use must be an error.
  socket_t listener = INVALID_SOCKET;
  server_.set_socket_options([&listener](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listener = sock;
  });
  server_.set_keep_alive_timeout(kKeepAliveSeconds);

  errno = 0;
  if (config_.port == 0) {
    port_ = server_.bind_to_any_port(config_.host);
  } else {
    port_ = server_.bind_to_port(config_.host, config_.port) ? config_.port : -1;
  }
  if (port_ <= 0) {
    error = "cannot listen on " + config_.host + ":" + std::to_string(config_.port) +
            (errno != 0 ? std::string(": ") + std::strerror(errno) : std::string());
    return false;
  }
  // cpp-httplib listens with a backlog of 5. When a restart brings every client back at once,
  // or a proxy opens hundreds of upstream connections together, the kernel would drop most
  // handshakes and the clients would wait for TCP's retry, a second or more. Listening again
  // only widens the queue.
  if (listener != INVALID_SOCKET) ::listen(listener, SOMAXCONN);
  if (!live_writer_.start()) {
    error = std::string("cannot start the writer thread: ") + std::strerror(errno);
    return false;
  }
  stream_settings_.live_writer = &live_writer_;
  demo_.start();
  return true;
}

bool Bridge::serve() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (stopped_) return true;
  }
  return server_.listen_after_bind();
}

void Bridge::stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  // Streams first (each wakes and ends), then the listener, whose stop joins their threads.
  faults_.stop();
  demo_.stop();
  store_->stop();
  live_writer_.stop();
  server_.stop();
}

void Bridge::get_events(const httplib::Request& req, httplib::Response& res) {
  const size_t count = req.get_param_value_count("channel");
  if (count == 0) return send_error(res, 400, "at least one channel parameter is required");
  if (count > kMaxChannelsPerStream) {
    return send_error(res, 400,
                      "at most " + std::to_string(kMaxChannelsPerStream) + " channels per stream");
  }
  std::vector<std::string> channels;
  for (size_t i = 0; i < count; ++i) {
    std::string channel = req.get_param_value("channel", i);
    if (const std::string reason = check_channel(channel); !reason.empty()) {
      return send_error(res, 400, reason);
    }
    if (std::find(channels.begin(), channels.end(), channel) == channels.end()) {
      channels.push_back(std::move(channel));
    }
  }

  if (!authorize(req, res, channels, Scope::read)) return;
  open_stream(req, res, *store_, std::move(channels));
}

bool Bridge::authorize(const httplib::Request& req, httplib::Response& res,
                       const std::vector<std::string>& channels, Scope scope) {
  if (!auth_) return true;
  const auto verdict = auth_->authenticate(req);
  if (verdict.kind != Authenticator::Verdict::Kind::ok) {
    metrics_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    res.set_header("WWW-Authenticate", "Bearer realm=\"ssebridge\"");
    send_error(res, 401, verdict.reason);
    return false;
  }
  std::string refused;
  if (scope == Scope::read && !verdict.claims.read) refused = "the token has no read scope";
  if (scope == Scope::publish && !verdict.claims.publish) {
    refused = "the token has no publish scope";
  }
  for (const auto& channel : channels) {
    if (refused.empty() && !verdict.claims.allows(channel)) {
      refused = "the token does not allow channel '" + channel + "'";
    }
  }
  if (refused.empty()) return true;
  metrics_.auth_failures.fetch_add(1, std::memory_order_relaxed);
  send_error(res, 403, refused);
  return false;
}

void Bridge::get_demo_ticks(const httplib::Request& req, httplib::Response& res) {
  open_stream(req, res, demo_.store(), {DemoTicker::kChannel});
}

void Bridge::open_stream(const httplib::Request& req, httplib::Response& res, Store& store,
                         std::vector<std::string> channels) {
  std::string error;
  const auto last_event_id = last_event_id_of(req, error);
  if (!error.empty()) return send_error(res, 400, error);

  auto slot = slots_.try_acquire();
  if (!slot) {
    metrics_.clients_rejected.fetch_add(1, std::memory_order_relaxed);
    return send_unavailable(res, "the bridge is at its limit of " + std::to_string(slots_.max()) +
                                     " clients; retry later");
  }
  auto start = store.open(channels, last_event_id, peer_of(req));
  if (!start) return send_failure(res, start);
  if (log_enabled(LogLevel::debug)) {
    log_debug("stream opened for " + peer_of(req) + " (" + std::to_string(slots_.in_use()) +
              " open)");
  }
  const int socket =
      find_connection_socket(req.remote_addr, req.remote_port, req.local_addr, req.local_port);
  serve_stream(res, store, std::move(channels), std::move(*start.value), std::move(*slot),
               stream_settings_, metrics_, socket);
}

void Bridge::post_events(const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader& reader) {
  // Any answer given before the body is read closes the connection: the unread body must not
  // be taken for the next request.
  const auto refuse = [&res](int status, const std::string& reason) {
    res.set_header("Connection", "close");
    send_error(res, status, reason);
  };

  const std::string channel = req.get_param_value("channel");
  if (const std::string reason = check_channel(channel); !reason.empty()) {
    return refuse(400, req.has_param("channel") ? reason : "the channel parameter is required");
  }
  const std::string type = req.has_param("type") ? req.get_param_value("type") : "message";
  if (const std::string reason = check_type(type); !reason.empty()) return refuse(400, reason);

  if (!authorize(req, res, {channel}, Scope::publish)) {
    res.set_header("Connection", "close");
    return;
  }

  const std::string too_large =
      "body too large: event data is limited to " + std::to_string(config_.max_body) + " bytes";
  if (req.has_header("Content-Length")) {
    const auto length = parse_count(req.get_header_value("Content-Length"), UINT64_MAX / 2);
    if (length && *length > config_.max_body) return refuse(400, too_large);
  }
  std::string data;
  bool overflow = false;
  reader([&](const char* bytes, size_t length) {
    if (data.size() + length > config_.max_body) {
      overflow = true;
      return false;
    }
    data.append(bytes, length);
    return true;
  });
  if (overflow) return refuse(400, too_large);
  if (const std::string reason = check_data(data); !reason.empty()) {
    return send_error(res, 400, reason);
  }

  const auto id = store_->publish(channel, type, std::move(data));
  if (!id) return send_failure(res, id);
  metrics_.events_published.fetch_add(1, std::memory_order_relaxed);
  res.set_content("{\"id\":" + std::to_string(*id.value) + "}\n", "application/json");
}

void Bridge::get_healthz(httplib::Response& res) {
  std::string detail;
  const bool healthy = store_->healthy(detail);
  res.status = healthy ? 200 : 503;
  res.set_content(std::string("{\"status\":\"") + (healthy ? "ok" : "unavailable") +
                      "\",\"store\":\"" + store_->kind() + "\",\"detail\":\"" +
                      json_escape(detail) + "\",\"clients\":" + std::to_string(slots_.in_use()) +
                      "}\n",
                  "application/json");
}

void Bridge::get_metrics(httplib::Response& res) {
  Gauges gauges;
  gauges.clients_connected = slots_.in_use();
  gauges.max_clients = slots_.max();
  gauges.last_event_id = store_->hub().position();
  gauges.events_received = store_->hub().delivered_count();
  if (std::string(store_->kind()) == "postgres") {
    std::string detail;
    gauges.postgres_connected = store_->healthy(detail) ? 1 : 0;
  }
  res.set_content(render_metrics(metrics_, gauges), "text/plain; version=0.0.4");
}

}  // namespace ssebridge
