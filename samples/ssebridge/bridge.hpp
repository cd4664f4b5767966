// bridge.hpp: the HTTP server. Owns the store (memory or Postgres), the demo ticker, the
// client limit and the metrics, and maps every endpoint onto them.
#pragma once

#include <memory>
#include <string>

#include <httplib.h>

#include "auth.hpp"
#include "config.hpp"
#include "demo.hpp"
#include "faults.hpp"
#include "metrics.hpp"
#include "sse_stream.hpp"
#include "store.hpp"

namespace ssebridge {

class Bridge {
 public:
  /// Routes every endpoint to `store`; does no I/O.
  Bridge(const Config& config, std::unique_ptr<Store> store, Metrics& metrics);
  ~Bridge();

  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  /// Binds the listening socket. False (with `error` set) when the address cannot be bound.
  bool bind(std::string& error);

  /// The port bound (the real one when --listen asked for port 0).
  int port() const { return port_; }

  /// Serves until stop(); returns false if the server failed while running.
  bool serve();

  /// Ends every stream and stops serving; safe from any thread, idempotent.
  void stop();

 private:
  void add_routes();
  void get_events(const httplib::Request& req, httplib::Response& res);
  void post_events(const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader);
  void get_demo_ticks(const httplib::Request& req, httplib::Response& res);
  void get_healthz(httplib::Response& res);
  void get_metrics(httplib::Response& res);

  enum class Scope { read, publish };

  /// With auth on, checks the request's token covers `channels` and `scope`; otherwise
  /// answers 401 or 403 and returns false.
  bool authorize(const httplib::Request& req, httplib::Response& res,
                 const std::vector<std::string>& channels, Scope scope);

  /// Opens a stream of `channels` from `store` for `req`, or answers the error.
  void open_stream(const httplib::Request& req, httplib::Response& res, Store& store,
                   std::vector<std::string> channels);

  const Config config_;
  Metrics& metrics_;
  ClientSlots slots_;
  StreamSettings stream_settings_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Authenticator> auth_;  // null without a secret
  LiveWriter live_writer_;
  DemoTicker demo_;
  Faults faults_;
  httplib::Server server_;
  int port_ = 0;
  std::mutex stop_mutex_;
  bool stopped_ = false;
};

/// Sends `status` with `reason` as a one-line text/plain body.
void send_error(httplib::Response& res, int status, const std::string& reason);

/// "127.0.0.1:53412"
std::string peer_of(const httplib::Request& req);

/// The Last-Event-ID of `req`: the header, else the lastEventId query parameter (for a page
/// that reloads and cannot set the header). nullopt when neither is there; sets `error` when
/// the value is not an event id.
std::optional<std::int64_t> last_event_id_of(const httplib::Request& req, std::string& error);

}  // namespace ssebridge
