// nginx_process.cpp: the configuration nginx runs with, and starting and stopping it.
#include "nginx/nginx_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ssekit::test {
namespace {

// A fresh nginx answers within milliseconds; the margin is for two cores shared with builds.
constexpr std::chrono::seconds kStartTimeout{20};
constexpr std::chrono::milliseconds kStartPollInterval{20};

// Another process may take the free port between our probe and nginx's bind: try a few.
constexpr int kPortAttempts = 3;

// Fast shutdown (SIGTERM) closes open streams at once; the graceful one would wait for them.
constexpr std::chrono::seconds kStopTimeout{10};

// Per connection nginx holds the client's socket and one upstream socket per open stream:
// 200 streams on one client connection need 201. Room for two such tests' worth and more.
constexpr int kWorkerConnections = 1024;

// Idle upstream connections nginx keeps for reuse by short requests (publishing, /healthz).
constexpr int kUpstreamKeepalive = 16;

// A port nothing listens on right now, for nginx to take.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("cannot make a socket to find a free port");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool found = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!found) throw std::runtime_error("cannot find a free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

bool accepts_connections(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

// One location block. Each directive is here because an event stream needs it; the why of each
// is in docs/deploy.md, "nginx in front of an SSE server".
void write_route(std::ostream& out, const ProxyRoute& route) {
  out << "    location " << route.prefix << " {\n";
  // With a URI part ("/"), nginx replaces the matched prefix by it before proxying.
  out << "      proxy_pass http://sse_upstream" << (route.prefix == "/" ? "" : "/") << ";\n";
  out << "      proxy_http_version 1.1;\n";
  out << "      proxy_set_header Connection \"\";\n";
  out << "      proxy_set_header Host $host;\n";
  out << "      proxy_buffering " << (route.buffering ? "on" : "off") << ";\n";
  if (!route.honour_accel_buffering) out << "      proxy_ignore_headers X-Accel-Buffering;\n";
  out << "      proxy_cache off;\n";
  if (route.gzip) {
    out << "      gzip on;\n      gzip_types text/event-stream;\n";
  } else {
    out << "      gzip off;\n";
  }
  out << "      proxy_read_timeout " << route.read_timeout << ";\n";
  // A stream's request is sent once; this bounds only a stuck upstream, never a quiet stream.
  out << "      proxy_send_timeout 1h;\n";
  out << "    }\n";
}

std::string nginx_config(const std::string& dir, int port, int upstream_port,
                         const TlsAuthority& authority, const NginxOptions& options) {
  std::ostringstream out;
  // Foreground and a single process: the test's child is nginx itself, with no master to
  // outlive it and no switch to an unprivileged user that could not read the temporary files.
  out << "daemon off;\nmaster_process off;\n";
  out << "pid " << dir << "/nginx.pid;\n";
  out << "error_log " << dir << "/error.log info;\n";
  out << "events { worker_connections " << kWorkerConnections << "; }\n";
  out << "http {\n";
  out << "  log_format streams '$connection $server_protocol $status $request_uri';\n";
  out << "  access_log " << dir << "/access.log streams;\n";
  // Every path nginx would otherwise create under /var/lib/nginx, which a non-root user lacks.
  for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    out << "  " << kind << "_temp_path " << dir << "/" << kind << "_temp;\n";
  out << "  upstream sse_upstream {\n";
  out << "    server 127.0.0.1:" << upstream_port << ";\n";
  out << "    keepalive " << kUpstreamKeepalive << ";\n";
  out << "  }\n";
  out << "  server {\n";
  out << "    listen 127.0.0.1:" << port << " ssl http2;\n";
  out << "    ssl_certificate " << authority.server_cert_file() << ";\n";
  out << "    ssl_certificate_key " << authority.server_key_file() << ";\n";
  if (options.max_concurrent_streams > 0)
    out << "    http2_max_concurrent_streams " << options.max_concurrent_streams << ";\n";
  for (const auto& route : options.routes)
    write_route(out, route);
  out << "  }\n";
  out << "}\n";
  return out.str();
}

}  // namespace

const char* nginx_binary() {
  return NGINX_BINARY;
}

NginxProcess::NginxProcess(const TlsAuthority& authority, int upstream_port, NginxOptions options)
    : dir_(authority.dir() + "/nginx") {
  if (access(nginx_binary(), X_OK) != 0) {
    throw std::runtime_error(std::string("nginx is not installed at ") + nginx_binary() +
                             ": run scripts/install-deps (Debian package nginx)");
  }
  std::filesystem::create_directories(dir_);

  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    const int port = free_port();
    if (start_on(port, nginx_config(dir_, port, upstream_port, authority, options))) {
      port_ = port;
      return;
    }
    if (error_log().find("Address already in use") == std::string::npos) break;
  }
  throw std::runtime_error("nginx did not start; its log:\n" + error_log());
}

NginxProcess::~NginxProcess() {
  if (process_) process_->stop(SIGTERM, kStopTimeout);
}

bool NginxProcess::start_on(int port, const std::string& config) {
  const std::string config_file = dir_ + "/nginx.conf";
  std::ofstream(config_file) << config;
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{nginx_binary(), "-p", dir_, "-c", config_file}, dir_ + "/nginx.out");

  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->running()) break;
    if (accepts_connections(port)) return true;
    std::this_thread::sleep_for(kStartPollInterval);
  }
  process_->stop(SIGTERM, kStopTimeout);
  process_.reset();
  return false;
}

std::string NginxProcess::url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(port_) + path;
}

std::string NginxProcess::access_log() const {
  return read_text_file(dir_ + "/access.log");
}

std::string NginxProcess::error_log() const {
  return read_text_file(dir_ + "/error.log") + read_text_file(dir_ + "/nginx.out");
}

}  // namespace ssekit::test
