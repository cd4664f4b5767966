// The transport features a client gets from libcurl, each checked against a real peer on
// 127.0.0.1: compressed streams (gzip, brotli, zstd) decoded as they arrive, a client
// certificate for a server that demands one, and a forward proxy, set in the options or taken
// from the http_proxy environment variable.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <brotli/encode.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ssekit/client.hpp"
#include "support/client_recorder.hpp"
#include "support/sse_test_server.hpp"

using ssekit::Client;
using ssekit::State;
using ssekit::test::fast_options;
using ssekit::test::Recorder;
using ssekit::test::SseTestServer;
using ssekit::test::StreamWriter;

namespace {

// ---------------------------------------------------------------------------------------------
// Compressed streams

// Compresses a stream piece by piece, flushing after each so the piece can be decoded at once:
// what a server does when it compresses a live event stream.
class StreamCompressor {
 public:
  virtual ~StreamCompressor() = default;
  /// The compressed bytes for `text`, flushed so that they decode to all of it.
  virtual std::string flushed(const std::string& text) = 0;
};

// The compressors run in a server thread, where Catch2's assertions must not be used (its
// result bookkeeping belongs to the test's thread). A compression library that fails here is
// broken, so the test program stops with a message instead.
void require_in_server(bool ok) {
  if (ok) return;
  std::fprintf(stderr, "client_transport_test: a compressor call failed in the server thread\n");
  std::abort();
}

class GzipCompressor : public StreamCompressor {
 public:
  GzipCompressor() {
    constexpr int kGzipWindowBits = 15 + 16;  // 15-bit window, gzip header and trailer
    constexpr int kMemoryLevel = 8;           // zlib's default
    require_in_server(deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits,
                                   kMemoryLevel, Z_DEFAULT_STRATEGY) == Z_OK);
  }
  ~GzipCompressor() override { deflateEnd(&stream_); }

  std::string flushed(const std::string& text) override {
    std::string out(deflateBound(&stream_, text.size()) + kFlushMarker, '\0');
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream_.avail_in = static_cast<uInt>(text.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out.data());
    stream_.avail_out = static_cast<uInt>(out.size());
    require_in_server(deflate(&stream_, Z_SYNC_FLUSH) == Z_OK);
    require_in_server(stream_.avail_in == 0);
    out.resize(out.size() - stream_.avail_out);
    return out;
  }

 private:
  static constexpr std::size_t kFlushMarker = 16;  // room for the empty block a flush adds
  z_stream stream_{};
};

class BrotliCompressor : public StreamCompressor {
 public:
  BrotliCompressor() : state_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    require_in_server(state_ != nullptr);
  }
  ~BrotliCompressor() override { BrotliEncoderDestroyInstance(state_); }

  std::string flushed(const std::string& text) override {
    std::string out;
    auto in = reinterpret_cast<const uint8_t*>(text.data());
    std::size_t in_left = text.size();
    do {
      uint8_t buffer[4096];
      uint8_t* next_out = buffer;
      std::size_t out_left = sizeof buffer;
      require_in_server(BrotliEncoderCompressStream(state_, BROTLI_OPERATION_FLUSH, &in_left, &in,
                                                    &out_left, &next_out, nullptr));
      out.append(reinterpret_cast<char*>(buffer), sizeof buffer - out_left);
    } while (in_left != 0 || BrotliEncoderHasMoreOutput(state_));
    return out;
  }

 private:
  BrotliEncoderState* state_;
};

class ZstdCompressor : public StreamCompressor {
 public:
  ZstdCompressor() : context_(ZSTD_createCCtx()) { require_in_server(context_ != nullptr); }
  ~ZstdCompressor() override { ZSTD_freeCCtx(context_); }

  std::string flushed(const std::string& text) override {
    std::string out;
    ZSTD_inBuffer in{text.data(), text.size(), 0};
    std::size_t remaining = 0;
    do {
      char buffer[4096];
      ZSTD_outBuffer chunk{buffer, sizeof buffer, 0};
      remaining = ZSTD_compressStream2(context_, &chunk, &in, ZSTD_e_flush);
      require_in_server(!(ZSTD_isError(remaining)));
      out.append(buffer, chunk.pos);
    } while (remaining != 0);
    return out;
  }

 private:
  ZSTD_CCtx* context_;
};

std::unique_ptr<StreamCompressor> compressor_for(const std::string& encoding) {
  if (encoding == "gzip") return std::make_unique<GzipCompressor>();
  if (encoding == "br") return std::make_unique<BrotliCompressor>();
  return std::make_unique<ZstdCompressor>();
}

// ---------------------------------------------------------------------------------------------
// Certificates

// A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, both signed by
// the CA, made with the openssl command in a fresh temporary directory.
struct MutualTlsFiles {
  std::string dir, ca_cert, ca_key, server_cert, server_key, client_cert, client_key;

  MutualTlsFiles() {
    char pattern[] = "/tmp/ssekit-mtls-XXXXXX";
    const char* made = mkdtemp(pattern);
    REQUIRE(made != nullptr);
    dir = made;
    ca_cert = dir + "/ca.pem";
    ca_key = dir + "/ca.key";
    server_cert = dir + "/server.pem";
    server_key = dir + "/server.key";
    client_cert = dir + "/client.pem";
    client_key = dir + "/client.key";
    run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ssekit-test-ca -keyout " +
        ca_key + " -out " + ca_cert);
    issue("/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1", server_cert, server_key);
    issue("/CN=ssekit-test-client", "extendedKeyUsage=clientAuth", client_cert, client_key);
  }
  ~MutualTlsFiles() {
    for (const std::string* file :
         {&ca_cert, &ca_key, &server_cert, &server_key, &client_cert, &client_key}) {
      std::remove(file->c_str());
    }
    std::remove((dir + "/ext.cnf").c_str());
    std::remove((dir + "/request.csr").c_str());
    std::remove((dir + "/ca.srl").c_str());
    rmdir(dir.c_str());
  }

 private:
  static void run(const std::string& command) {
    REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
  }

  void issue(const std::string& subject, const std::string& extension, const std::string& cert,
             const std::string& key) {
    const std::string request = dir + "/request.csr";
    const std::string extensions = dir + "/ext.cnf";
    run("echo '" + extension + "' > " + extensions);
    run("openssl req -newkey rsa:2048 -nodes -subj " + subject + " -keyout " + key + " -out " +
        request);
    run("openssl x509 -req -days 2 -in " + request + " -CA " + ca_cert + " -CAkey " + ca_key +
        " -CAcreateserial -extfile " + extensions + " -out " + cert);
  }
};

// ---------------------------------------------------------------------------------------------
// A forward proxy

// A one-connection-at-a-time HTTP proxy on 127.0.0.1 that answers every request itself with
// one event, and records the request line and headers it got. That is all a test needs to see
// that the client went through it and asked for the right absolute URL.
class RecordingProxy {
 public:
  RecordingProxy() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    REQUIRE(listen(listener_, 8) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~RecordingProxy() {
    stopping_ = true;
    shutdown(listener_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    close(listener_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::string request_head() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return head_;
  }

 private:
  void serve() {
    while (!stopping_) {
      const int connection = accept(listener_, nullptr, nullptr);
      if (connection < 0) return;
      std::string head = read_head(connection);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        head_ = head;
      }
      const std::string body = "data: via the proxy\n\n";
      const std::string answer =
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      // Catch2 asserts only on the test's thread: a short send shows as a missing event there.
      send(connection, answer.data(), answer.size(), MSG_NOSIGNAL);
      close(connection);
    }
  }

  static std::string read_head(int connection) {
    constexpr std::size_t kMaxHead = 64 * 1024;  // a request head is far smaller
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < kMaxHead) {
      const ssize_t got = recv(connection, buffer, sizeof buffer, 0);
      if (got <= 0) break;
      head.append(buffer, static_cast<std::size_t>(got));
    }
    return head;
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::string head_;
};

// Sets an environment variable for the life of a test and puts back what was there.
class ScopedEnvironment {
 public:
  ScopedEnvironment(std::string name, const char* value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) {
      setenv(name_.c_str(), value, 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ~ScopedEnvironment() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A URL on 127.0.0.1 where nothing listens: reaching it at all proves the proxy answered.
std::string unserved_url(const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + path;
}

}  // namespace

TEST_CASE("a gzip, brotli or zstd stream is decoded as it arrives", "[client][encoding]") {
  const std::string encoding = GENERATE(as<std::string>{}, "gzip", "br", "zstd");
  CAPTURE(encoding);
  constexpr int kEvents = 5;

  Recorder record;  // outlives the server, whose script reads it
  SseTestServer server;
  Client client(fast_options(server.url("/events")));
  record.attach(client);
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    response.set_header("Content-Encoding", encoding);
    server.stream(response, [&](StreamWriter& out) {
      auto compressor = compressor_for(encoding);
      for (int i = 1; i <= kEvents; ++i) {
        const std::string event = "id: " + std::to_string(i) + "\ndata: event " +
                                  std::to_string(i) + " " + std::string(100, 'x') + "\n\n";
        if (!out.write(compressor->flushed(event))) return;
        // The next event waits until this one was delivered: nothing may sit in the decoder.
        const auto delivered = static_cast<std::size_t>(i);
        if (!out.wait_until([&] { return record.events().size() >= delivered; })) return;
      }
      out.stall();
    });
  });

  REQUIRE_FALSE(client.start());
  REQUIRE(record.wait_events(kEvents));
  client.close();

  const auto events = record.events();
  REQUIRE(events.size() == std::size_t(kEvents));
  for (int i = 1; i <= kEvents; ++i) {
    CHECK(events[i - 1].id == std::to_string(i));
    CHECK(events[i - 1].data == "event " + std::to_string(i) + " " + std::string(100, 'x'));
  }
  const auto requests = server.requests();
  REQUIRE_FALSE(requests.empty());
  CHECK(requests[0].header("Accept-Encoding").find(encoding) != std::string::npos);
}

TEST_CASE("a server that asks for a client certificate gets the configured one", "[client][tls]") {
  MutualTlsFiles files;
  SseTestServer server(files.server_cert, files.server_key, 4, files.ca_cert);
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) {
      out.write("data: hello, certified client\n\n");
      out.stall();
    });
  });

  SECTION("with the certificate and its key the stream opens") {
    auto options = fast_options(server.url("/events"));
    options.tls.ca_file = files.ca_cert;
    options.tls.client_cert_file = files.client_cert;
    options.tls.client_key_file = files.client_key;
    Recorder record;  // declared first: it outlives the client's last callback
    Client client(options);
    record.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(record.wait_events(1));
    CHECK(record.events()[0].data == "hello, certified client");
  }

  SECTION("without one the handshake fails and no event arrives") {
    auto options = fast_options(server.url("/events"));
    options.tls.ca_file = files.ca_cert;
    options.reconnect = false;
    Recorder record;  // declared first: it outlives the client's last callback
    Client client(options);
    record.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(record.wait_state(State::closed));
    CHECK(record.events().empty());
    CHECK(record.opens() == 0);
    CHECK(server.request_count() == 0);
  }
}

TEST_CASE("a proxy from the options or from http_proxy carries the stream", "[client][proxy]") {
  RecordingProxy proxy;
  const std::string target = unserved_url("/events?from=proxy-test");
  // no_proxy may name 127.0.0.1 on a developer's machine: clear it for this test.
  ScopedEnvironment no_proxy("no_proxy", nullptr);
  ScopedEnvironment no_proxy_upper("NO_PROXY", nullptr);

  auto options = fast_options(target);
  options.reconnect = false;
  std::unique_ptr<ScopedEnvironment> http_proxy;
  SECTION("options.proxy") {
    options.proxy = proxy.url();
    http_proxy = std::make_unique<ScopedEnvironment>("http_proxy", nullptr);
  }
  SECTION("the http_proxy environment variable") {
    http_proxy = std::make_unique<ScopedEnvironment>("http_proxy", proxy.url().c_str());
  }

  Recorder record;  // declared first: it outlives the client's last callback
  Client client(options);
  record.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(record.wait_events(1));
  CHECK(record.events()[0].data == "via the proxy");

  // A forward proxy gets the absolute URL in the request line.
  const std::string head = proxy.request_head();
  CHECK(head.rfind("GET " + target + " HTTP/1.1\r\n", 0) == 0);
  CHECK(head.find("Accept: text/event-stream") != std::string::npos);
}
