// The client over TLS against a local server with a throwaway self-signed certificate:
// verification on by default, a custom CA file, and a fatal error naming the certificate problem.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "loop_core.hpp"
#include "ssekit/client.hpp"
#include "ssekit/loop.hpp"
#include "support/client_recorder.hpp"
#include "support/sse_test_server.hpp"

using ssekit::Client;
using ssekit::ErrorCode;
using ssekit::State;
using ssekit::test::fast_options;
using ssekit::test::poll_until;
using ssekit::test::Recorder;
using ssekit::test::SseTestServer;
using ssekit::test::StreamWriter;

namespace {

// A certificate for 127.0.0.1, made with the openssl command in a fresh temporary directory.
struct Certificate {
  std::string dir;
  std::string cert;
  std::string key;

  Certificate() {
    char pattern[] = "/tmp/ssekit-tls-XXXXXX";
    const char* made = mkdtemp(pattern);
    REQUIRE(made != nullptr);
    dir = made;
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
        " -addext subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
  }
  ~Certificate() {
    std::remove(cert.c_str());
    std::remove(key.c_str());
    rmdir(dir.c_str());
  }
};

// A port nothing listens on right now, for a child process to take.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

bool accepts_connections(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

// nghttpx (Debian's nghttp2-proxy) on 127.0.0.1: HTTP/2 over TLS in front, a plain HTTP/1.1
// test server behind. cpp-httplib speaks no HTTP/2; this is how the tests get a real one.
class Http2Proxy {
 public:
  Http2Proxy(const Certificate& certificate, int backend_port) : port_(free_port()) {
    const std::string frontend = "--frontend=127.0.0.1," + std::to_string(port_);
    const std::string backend = "--backend=127.0.0.1," + std::to_string(backend_port);
    pid_ = fork();
    if (pid_ == 0) {
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      execlp("nghttpx", "nghttpx", "--conf=/dev/null", frontend.c_str(), backend.c_str(),
             "--workers=1", "--no-ocsp", "--log-level=FATAL", "--errorlog-file=/dev/null",
             certificate.key.c_str(), certificate.cert.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    REQUIRE(pid_ > 0);
    REQUIRE(poll_until([&] { return accepts_connections(port_); }));
  }
  ~Http2Proxy() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("streams to one HTTP/2 origin share one connection", "[client][tls]") {
  constexpr int kStreams = 8;
  Certificate certificate;
  SseTestServer backend(kStreams + 8);
  backend.handle("/events", [&](const auto& request, httplib::Response& response) {
    const std::string name = request.query;
    backend.stream(response, [name](StreamWriter& out) {
      out.write("data: " + name + "\n\n");
      out.stall();
    });
  });
  Http2Proxy proxy(certificate, backend.port());

  auto loop = std::make_shared<ssekit::Loop>();
  std::atomic<int> delivered{0};
  std::atomic<int> wrong{0};
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kStreams; ++i) {
    auto options = fast_options(proxy.url("/events?" + std::to_string(i)));
    options.tls.ca_file = certificate.cert;
    options.loop = loop;
    clients.push_back(std::make_unique<Client>(options));
    clients.back()->on_event([&, i](const ssekit::Event& event) {
      if (event.data != std::to_string(i)) ++wrong;
      ++delivered;
    });
    REQUIRE_FALSE(clients.back()->start());
  }
  REQUIRE(poll_until([&] { return delivered.load() >= kStreams; }));
  CHECK(wrong.load() == 0);
  CHECK(loop->core().connection_count() == 1);
  for (auto& client : clients)
    CHECK(client->stats().reconnects == 0);
  clients.clear();
}

TEST_CASE("TLS verification is on by default and a CA file makes a server trusted",
          "[client][tls]") {
  Certificate certificate;
  SseTestServer server(certificate.cert, certificate.key);
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) {
      out.write("data: secure\n\n");
      out.stall();
    });
  });

  SECTION("an untrusted certificate is fatal and named") {
    Recorder recorder;
    Client client(fast_options(server.url("/events")));
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(client.close_reason().code == ErrorCode::tls);
    CHECK_THAT(client.close_reason().message, Catch::Contains("certificate"));
    CHECK(recorder.states_of(State::waiting).empty());
  }
  SECTION("the CA file is trusted") {
    auto options = fast_options(server.url("/events"));
    options.tls.ca_file = certificate.cert;
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_events(1));
    CHECK(recorder.events()[0].data == "secure");
  }
}
