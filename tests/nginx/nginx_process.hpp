// nginx_process.hpp: Debian's nginx run by a test as a TLS and HTTP/2 reverse proxy in front of
// a local SSE server, with every file it writes in the test's temporary directory.
//
//   ssekit::test::TlsAuthority authority;
//   ssekit::test::BridgeProcess bridge({});
//   ssekit::test::NginxProcess nginx(authority, bridge.port(), {});
//   options.url = nginx.url("/events?channel=orders");
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "nginx/child_process.hpp"
#include "nginx/tls_authority.hpp"

namespace ssekit::test {

/// One `location` of the proxy and the settings that matter to a stream behind it.
struct ProxyRoute {
  /// The path prefix, "/" or "/name/"; a longer prefix is removed before the request goes
  /// upstream, so "/buffered/events" reaches the server as "/events".
  std::string prefix = "/";
  /// proxy_buffering. Default off, as SSE needs.
  bool buffering = false;
  /// False adds `proxy_ignore_headers X-Accel-Buffering`, so the server's own "do not buffer"
  /// header no longer overrides `buffering`. Default true (nginx's default).
  bool honour_accel_buffering = true;
  /// gzip for text/event-stream. Default off, as the deployment guide advises.
  bool gzip = false;
  /// proxy_read_timeout in nginx syntax. Default "1h": far longer than any heartbeat.
  std::string read_timeout = "1h";
};

/// How to run the proxy.
struct NginxOptions {
  /// The locations served. Default: one "/" route with the settings SSE needs.
  std::vector<ProxyRoute> routes = {ProxyRoute{}};
  /// http2_max_concurrent_streams. Default 0: nginx's own default (128).
  int max_concurrent_streams = 0;
};

/// nginx listening with `ssl http2` on a free port of 127.0.0.1, proxying to
/// 127.0.0.1:`upstream_port`. Runs in the foreground as a single process, so that the test owns
/// exactly one pid; it is terminated when the object is destroyed or the test process dies.
class NginxProcess {
 public:
  /// Writes the configuration, starts nginx and waits until it accepts connections. Throws
  /// std::runtime_error with nginx's log when the binary is missing or nginx does not start.
  NginxProcess(const TlsAuthority& authority, int upstream_port, NginxOptions options);
  ~NginxProcess();

  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;

  int port() const { return port_; }
  /// "https://127.0.0.1:<port><path>".
  std::string url(const std::string& path) const;

  /// The access log: one line per finished request, "<connection serial> <protocol> <status>
  /// <uri>". nginx writes a stream's line when the stream ends.
  std::string access_log() const;
  /// nginx's error log and whatever it printed.
  std::string error_log() const;

 private:
  bool start_on(int port, const std::string& config);

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

/// The path of the nginx binary the tests run.
const char* nginx_binary();

}  // namespace ssekit::test
