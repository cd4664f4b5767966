// Security checks of the client (issue #7): TLS trust and host names, credentials kept from other
// origins and out of every log line and error, header injection refused before any connection,
// and streams built to exhaust memory. docs/reliability.md, "Security", maps every check to its
// test and gives the figures measured here.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ssekit/client.hpp"
#include "support/client_recorder.hpp"
#include "support/sse_test_server.hpp"

extern char** environ;

using namespace std::chrono_literals;
using ssekit::Client;
using ssekit::ErrorCode;
using ssekit::LogLevel;
using ssekit::State;
using ssekit::test::fast_options;
using ssekit::test::Recorder;
using ssekit::test::SseTestServer;
using ssekit::test::StreamWriter;

namespace {

// ---------------------------------------------------------------------------------------------
// Certificates

// Runs a shell command line with its output thrown away; true when it exited 0.
bool run_quietly(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// A throwaway certificate authority made with the openssl command, and the server certificates
// it issues, all in one temporary directory removed at the end of the test.
class TestAuthority {
 public:
  struct Issued {
    std::string cert;
    std::string key;
  };

  TestAuthority() {
    char pattern[] = "/tmp/ssekit-security-XXXXXX";
    const char* made = mkdtemp(pattern);
    REQUIRE(made != nullptr);
    dir_ = made;
    cert_ = dir_ + "/ca.pem";
    // P-256 keys: as good as RSA for a test and made in milliseconds on a busy machine.
    REQUIRE(
        run_quietly("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
                    " -nodes -days 1 -subj '/CN=ssekit test authority' -keyout " +
                    dir_ + "/ca.key -out " + cert_));
  }

  ~TestAuthority() { run_quietly("rm -rf '" + dir_ + "'"); }

  TestAuthority(const TestAuthority&) = delete;
  TestAuthority& operator=(const TestAuthority&) = delete;

  /// The CA certificate: what a client trusts with TlsOptions::ca_file.
  const std::string& cert() const { return cert_; }

  /// A server certificate for `subject_alt_name` ("IP:127.0.0.1", "DNS:other.example").
  Issued issue(const std::string& name, const std::string& subject_alt_name) {
    const std::string base = dir_ + "/" + name;
    std::ofstream(base + ".ext") << "subjectAltName=" << subject_alt_name << "\n";
    REQUIRE(
        run_quietly("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
                    " -nodes -subj /CN=" +
                    name + " -keyout " + base + ".key -out " + base + ".csr"));
    REQUIRE(run_quietly("openssl x509 -req -days 1 -set_serial " + std::to_string(++serial_) +
                        " -in " + base + ".csr -CA " + cert_ + " -CAkey " + dir_ +
                        "/ca.key -extfile " + base + ".ext -out " + base + ".pem"));
    return {base + ".pem", base + ".key"};
  }

 private:
  std::string dir_;
  std::string cert_;
  int serial_ = 0;
};

void serve_one_event(SseTestServer& server, const std::string& data) {
  server.handle("/events", [&server, data](const auto&, httplib::Response& response) {
    server.stream(response, [data](StreamWriter& out) {
      out.write("data: " + data + "\n\n");
      out.stall();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Secrets

// Distinctive values, so that a hit can only be a leak. Each ends in a marker of its own; the
// checks look for the marker, which survives URL encoding and partial quoting.
const std::string kHeaderSecret = "header-value-Q7f3K9xz";
const std::string kBearerSecret = "bearer-token-Z2m8R4xz";
const std::string kCookieSecret = "cookie-value-W5n1T6xz";
const std::string kQuerySecret = "query-token-P4x9L2xz";
const std::string kProviderSecret = "provider-token-J8c3V5xz";
const std::string kFreshSecret = "fresh-token-H6d2B7xz";
const std::string kFreshHeaderSecret = "fresh-header-Y3k5S1xz";
const std::string kPasswordSecret = "url-password-M1a4G8xz";

const std::vector<std::string> kSecretMarkers = {"Q7f3K9", "Z2m8R4", "W5n1T6", "P4x9L2",
                                                 "J8c3V5", "H6d2B7", "Y3k5S1", "M1a4G8"};

// Every kind of credential the options can carry, each set to its secret. The token provider
// wins over bearer_token on the wire; both must stay out of every text.
void carry_every_credential(ssekit::ClientOptions& options) {
  options.headers = {{"X-Api-Key", kHeaderSecret}, {"Accept-Language", "en"}};
  options.bearer_token = kBearerSecret;
  options.cookies = "sid=" + kCookieSecret;
  options.query_token = ssekit::Header{"access_token", kQuerySecret};
  options.token_provider = [calls = std::make_shared<std::atomic<int>>(0)] {
    return kProviderSecret + "-" + std::to_string(++*calls);
  };
  options.on_unauthorized = [](int) -> std::optional<ssekit::Credentials> {
    ssekit::Credentials fresh;
    fresh.bearer_token = kFreshSecret;
    fresh.headers = {{"X-Session-Key", kFreshHeaderSecret}};
    return fresh;
  };
}

// The markers of the secrets found in `text`, joined by spaces; "" when it holds none.
std::string leaked_markers(const std::string& text) {
  std::string found;
  for (const auto& marker : kSecretMarkers) {
    if (text.find(marker) != std::string::npos) found += marker + " ";
  }
  return found;
}

// Every text a request carried, one per header, plus its path and query.
std::vector<std::string> texts_of(const ssekit::test::RecordedRequest& request) {
  std::vector<std::string> texts{request.path, request.query, request.body};
  for (const auto& [name, value] : request.headers)
    texts.push_back(name + ": " + value);
  return texts;
}

// Log lines handed to a client's sink, from the loop thread.
struct LogLines {
  std::mutex mutex;
  std::vector<std::string> lines;

  ssekit::LogSink sink() {
    return [this](LogLevel, std::string_view line) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.emplace_back(line);
    };
  }
  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> lock(mutex);
    return lines;
  }
};

// Runs a client with every credential to its close, and returns every text it produced: each
// log line at debug level, every error message, every state-change reason, the close reason.
std::vector<std::string> texts_of_a_run(ssekit::ClientOptions options) {
  LogLines log;
  carry_every_credential(options);
  options.logger = log.sink();
  options.log_level = LogLevel::debug;
  options.reconnect_policy.max_attempts = 3;  // enough to see a retry, then it ends
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::closed));

  std::vector<std::string> texts = log.snapshot();
  REQUIRE_FALSE(texts.empty());
  for (const auto& error : recorder.errors())
    texts.push_back(error.message);
  for (const auto& change : recorder.states())
    texts.push_back(change.reason.message);
  texts.push_back(client.close_reason().message);
  return texts;
}

// ---------------------------------------------------------------------------------------------
// Connections

// A socket listening on 127.0.0.1 that accepts nothing by itself: connections a client makes
// wait in its backlog, where the test takes and counts them. This sees TCP connections, not
// just HTTP requests: a client that connected and then thought better of it is counted too.
class CountingListener {
 public:
  CountingListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, SOMAXCONN) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~CountingListener() {
    for (int fd : accepted_)
      ::close(fd);
    ::close(fd_);
  }

  CountingListener(const CountingListener&) = delete;
  CountingListener& operator=(const CountingListener&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  /// Waits up to `limit` for a first connection, then takes every one waiting and returns the
  /// request head each sent (read for at most `limit` too).
  std::vector<std::string> take_requests(std::chrono::milliseconds limit) {
    pollfd waiting{fd_, POLLIN, 0};
    if (::poll(&waiting, 1, static_cast<int>(limit.count())) <= 0) return {};
    std::vector<int> taken;
    for (int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC); fd >= 0;
         fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) {
      taken.push_back(fd);
      accepted_.push_back(fd);
    }
    std::vector<std::string> heads;
    for (int fd : taken)
      heads.push_back(read_head(fd, limit));
    return heads;
  }

 private:
  static std::string read_head(int fd, std::chrono::milliseconds limit) {
    std::string head;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (head.find("\r\n\r\n") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd readable{fd, POLLIN, 0};
      if (::poll(&readable, 1, 20) <= 0) continue;
      char chunk[1024];
      const ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      head.append(chunk, static_cast<std::size_t>(n));
    }
    return head;
  }

  int fd_ = -1;
  int port_ = 0;
  std::vector<int> accepted_;
};

// A URL on a loopback port nothing listens on: bound to learn a free port, then released.
std::string refused_url(const std::string& path) {
  auto listener = std::make_unique<CountingListener>();
  const std::string url = listener->url(path);
  listener.reset();
  return url;
}

// ---------------------------------------------------------------------------------------------
// Memory

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kGiB = std::size_t{1} << 30;

// What the server sends around the payload: an event that marks the baseline, then the payload,
// then line ends that close whatever the payload left open, then an event that must still come.
const std::string kReadyEvent = "data: ready\n\n";
const std::string kDataField = "data: ";
const std::string kAfterEvents = "\n\ndata: after\n\n";

// The shapes of a payload built to exhaust memory.
enum class Flood {
  endless_line,     // bytes without a line end: one line the size of the payload
  one_data_line,    // "data: " and then the payload: one event of one line
  many_data_lines,  // 64 KiB data lines with no blank line: one event of many lines
};

// Bytes of one line of the many-lines flood, line end included: sixteen to a block.
constexpr std::size_t kFloodLineBytes = 64 * 1024;

// Each write to the socket sends this much of a static block: big enough that the server costs
// little per byte, small enough to stay in the cache.
constexpr std::size_t kFloodBlockBytes = kMiB;

// The block the flood is cut from: the payload repeats it, so the server reads one buffer.
const std::string& flood_block(Flood shape) {
  static const std::string letters(kFloodBlockBytes, 'a');
  static const std::string lines = [] {
    std::string line = kDataField + std::string(kFloodLineBytes - kDataField.size() - 1, 'a');
    line += '\n';
    std::string block;
    while (block.size() < kFloodBlockBytes)
      block += line;
    return block;
  }();
  return shape == Flood::many_data_lines ? lines : letters;
}

// Serves GET /flood: the ready event, `payload_bytes` of `shape`, the line ends and the after
// event, with a Content-Length, written straight from the static block.
void serve_flood(SseTestServer& server, Flood shape, std::size_t payload_bytes) {
  const std::string head = kReadyEvent + (shape == Flood::one_data_line ? kDataField : "");
  server.handle(
      "/flood", [&server, shape, payload_bytes, head](const auto&, httplib::Response& response) {
        const std::size_t total = head.size() + payload_bytes + kAfterEvents.size();
        response.set_content_provider(
            total, "text/event-stream",
            [&server, shape, payload_bytes, head](std::size_t offset, std::size_t length,
                                                  httplib::DataSink& sink) {
              if (server.stopping()) return false;
              if (offset < head.size())
                return sink.write(head.data() + offset, head.size() - offset);
              const std::size_t into_payload = offset - head.size();
              if (into_payload < payload_bytes) {
                const std::string& block = flood_block(shape);
                const std::size_t at = into_payload % block.size();
                const std::size_t count =
                    std::min({block.size() - at, payload_bytes - into_payload, length});
                return sink.write(block.data() + at, count);
              }
              const std::size_t into_tail = into_payload - payload_bytes;
              return sink.write(kAfterEvents.data() + into_tail, kAfterEvents.size() - into_tail);
            });
      });
}

// What stream_memory_probe printed: its "key value" lines as a map.
using ProbeReport = std::map<std::string, std::string>;

// Runs stream_memory_probe against `url` with `limits` and returns its report; kills it and
// fails the test when it has not finished within `limit`.
ProbeReport run_probe(const std::string& url, const ssekit::ParserLimits& limits,
                      std::chrono::seconds limit) {
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::vector<std::string> args = {STREAM_MEMORY_PROBE,
                                   url,
                                   std::to_string(limits.max_line_bytes),
                                   std::to_string(limits.max_event_bytes),
                                   "after",
                                   std::to_string(limit.count())};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      ::posix_spawn(&pid, STREAM_MEMORY_PROBE, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  REQUIRE(spawned == 0);

  // The probe stops itself after `limit`; the extra time covers its start and its report.
  const auto deadline = std::chrono::steady_clock::now() + limit + 15s;
  std::string text;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd readable{out[0], POLLIN, 0};
    if (::poll(&readable, 1, 100) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(out[0], chunk, sizeof chunk);
    if (n <= 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  // Its stdout closes a moment before it exits: its client still joins the loop thread.
  int status = 0;
  bool exited = false;
  while (!(exited = ::waitpid(pid, &status, WNOHANG) == pid) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL("stream_memory_probe did not finish in time; it printed: " << text);
  }
  INFO("stream_memory_probe printed: " << text);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  ProbeReport report;
  std::istringstream lines(text);
  for (std::string key, value; lines >> key >> value;)
    report[key] = value;
  return report;
}

// The value of `key` in the report, "" when the probe did not print it.
std::string field(const ProbeReport& report, const std::string& key) {
  const auto found = report.find(key);
  return found == report.end() ? std::string() : found->second;
}

long long number(const ProbeReport& report, const std::string& key) {
  const std::string value = field(report, key);
  return value.empty() ? -1 : std::stoll(value);
}

std::string describe(const ProbeReport& report) {
  std::string text;
  for (const auto& [key, value] : report)
    text += key + "=" + value + " ";
  return text;
}

// Sanitizer builds (SSEKIT_SANITIZE; tests/CMakeLists.txt sets SSEKIT_SANITIZED) send the same
// floods sixteen times smaller: instrumentation makes each byte cost many times more, and what
// they look for (memory errors, races) shows as well in 64 MiB. Their allocators keep freed
// blocks in quarantine and add shadow memory, so resident memory there says nothing about the
// client's limits and is reported but not compared.
#ifndef SSEKIT_SANITIZED
#define SSEKIT_SANITIZED 0
#endif
constexpr bool kSanitized = SSEKIT_SANITIZED != 0;
constexpr std::size_t kSanitizedFloodDivisor = 16;

// Memory a client may use beyond what its parser limits allow: allocator rounding, libcurl's
// and the socket's buffers growing with the first large reads, thread stacks touched deeper.
// Measured at under 0.5 MiB past the limit that was hit (docs/reliability.md); 4 MiB leaves
// room without hiding a leak, which at these stream sizes would show as hundreds of MiB.
constexpr std::size_t kClientOverheadBytes = 4 * kMiB;

// Sends `nominal_bytes` of `shape` (less in sanitizer builds) to a probe with `limits`, then
// checks the probe got the ready and after events on one connection, one error of `expected`,
// and stayed within its limits. Prints the figures for docs/reliability.md.
void check_flood(Flood shape, std::size_t nominal_bytes, const ssekit::ParserLimits& limits,
                 ErrorCode expected, std::chrono::seconds limit) {
  const std::size_t payload_bytes =
      kSanitized ? nominal_bytes / kSanitizedFloodDivisor : nominal_bytes;
  SseTestServer server(2);
  serve_flood(server, shape, payload_bytes);
  const auto began = std::chrono::steady_clock::now();
  const ProbeReport report = run_probe(server.url("/flood"), limits, limit);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

  const long long baseline_kib = number(report, "baseline_kib");
  const long long peak_kib = number(report, "peak_kib");
  const long long growth_kib = peak_kib - baseline_kib;
  std::printf(
      "flood %d: %zu MiB, limits %zu/%zu bytes: %.1f s; RSS baseline %lld KiB, peak %lld "
      "KiB, growth %lld KiB; %s\n",
      static_cast<int>(shape), payload_bytes / kMiB, limits.max_line_bytes, limits.max_event_bytes,
      seconds, baseline_kib, peak_kib, growth_kib, describe(report).c_str());

  INFO(describe(report));
  CHECK(field(report, "outcome") == "done");
  CHECK(field(report, "events") == "ready,after");  // nothing of the flood, nothing lost after it
  CHECK(number(report, "connects") == 1);           // the parser skipped it; no reconnect needed
  CHECK(static_cast<std::size_t>(number(report, "bytes")) ==
        kReadyEvent.size() + (shape == Flood::one_data_line ? kDataField.size() : 0) +
            payload_bytes + kAfterEvents.size());

  // One error, of the expected kind, raised while the flood was still arriving: an app hears
  // of an endless line when it passes the limit, not when (if ever) it ends. The response ends
  // after the after event (it has a Content-Length), which may add stream_ended.
  std::string errors = field(report, "errors");
  const auto ended = errors.find(",stream_ended@");
  if (ended != std::string::npos) errors.resize(ended);
  const std::string code = ssekit::to_string(expected);
  REQUIRE(errors.rfind(code + "@", 0) == 0);
  CHECK(errors.find(',') == std::string::npos);
  const auto raised_at = std::stoull(errors.substr(code.size() + 1));
  CHECK(raised_at <= limits.max_line_bytes + limits.max_event_bytes + 2 * kMiB);

  REQUIRE(baseline_kib > 0);
  const std::size_t allowed = limits.max_line_bytes + limits.max_event_bytes + kClientOverheadBytes;
  if (kSanitized) {
    WARN("sanitizer build: resident memory not compared with the limits");
  } else {
    CHECK(static_cast<std::size_t>(growth_kib) * 1024 <= allowed);
  }
}

}  // namespace

// =============================================================================================
// TLS. The self-signed cases (refused by default with an error naming the certificate, trusted
// through a CA file) are in client_tls_test.cpp; these add a real chain and the host name.

TEST_CASE("TLS trusts a CA file for the chain and still checks the host name", "[security][tls]") {
  TestAuthority authority;

  SECTION("a server whose CA the client does not know is refused before any request") {
    const auto issued = authority.issue("loopback", "IP:127.0.0.1");
    SseTestServer server(issued.cert, issued.key);
    serve_one_event(server, "secure");
    auto options = fast_options(server.url("/events"));
    options.bearer_token = kBearerSecret;
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(client.close_reason().code == ErrorCode::tls);
    CHECK_THAT(client.close_reason().message, Catch::Contains("certificate"));
    CHECK(recorder.states_of(State::waiting).empty());  // not retried: retrying cannot help
    CHECK(server.request_count() == 0);  // the bearer token never left over an untrusted link
  }
  SECTION("the same server is trusted through its CA's file") {
    const auto issued = authority.issue("loopback", "IP:127.0.0.1");
    SseTestServer server(issued.cert, issued.key);
    serve_one_event(server, "secure");
    auto options = fast_options(server.url("/events"));
    options.tls.ca_file = authority.cert();
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_events(1));
    CHECK(recorder.events()[0].data == "secure");
  }
  SECTION("a trusted certificate for another name is refused, naming the host") {
    const auto issued = authority.issue("other.example", "DNS:other.example");
    SseTestServer server(issued.cert, issued.key);
    serve_one_event(server, "secure");
    auto options = fast_options(server.url("/events"));
    options.tls.ca_file = authority.cert();
    options.bearer_token = kBearerSecret;
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(client.close_reason().code == ErrorCode::tls);
    CHECK_THAT(client.close_reason().message, Catch::Contains("host name"));
    CHECK_THAT(client.close_reason().message, Catch::Contains("127.0.0.1"));
    CHECK(recorder.states_of(State::waiting).empty());
    CHECK(server.request_count() == 0);
  }
  SECTION("a certificate for the address is refused when the URL names the host") {
    const auto issued = authority.issue("loopback", "IP:127.0.0.1");
    SseTestServer server(issued.cert, issued.key);
    serve_one_event(server, "secure");
    auto options = fast_options(server.localhost_url("/events"));
    options.tls.ca_file = authority.cert();
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(client.close_reason().code == ErrorCode::tls);
    CHECK_THAT(client.close_reason().message, Catch::Contains("localhost"));
    CHECK(server.request_count() == 0);
  }
}

// =============================================================================================
// Credentials. client_test.cpp checks, for each of the five redirect statuses, that the bearer
// token, the cookie and a credential header are dropped on a redirect to another origin and
// kept on the same origin; client_auth_test.cpp greps the logs of a 503/stream/404 run. These
// add the query token and the token provider, look at every byte of the other origin's request
// rather than at named headers, and grep the texts of the failure paths.

TEST_CASE("no credential of any kind follows a redirect to another origin", "[security][auth]") {
  const int status = GENERATE(302, 303, 307);
  CAPTURE(status);
  SseTestServer origin;
  SseTestServer other;  // another port: another origin
  serve_one_event(other, "away");
  origin.handle("/events", [&](const auto&, httplib::Response& response) {
    response.set_redirect(other.url("/events?topic=a"), status);
  });

  auto options = fast_options(origin.url("/events"));
  carry_every_credential(options);
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(1));
  client.close();

  // Everything went to the origin, so a missing leak below is not a missing credential.
  const auto first = origin.requests().at(0);
  CHECK(first.header("X-Api-Key") == kHeaderSecret);
  CHECK(first.header("Authorization") == "Bearer " + kProviderSecret + "-1");
  CHECK(first.header("Cookie") == "sid=" + kCookieSecret);
  CHECK(first.query == "access_token=" + kQuerySecret);

  const auto away = other.requests();
  REQUIRE(away.size() == 1);
  for (const auto& text : texts_of(away[0])) {
    CAPTURE(text);
    CHECK(leaked_markers(text).empty());
  }
  CHECK(away[0].query == "topic=a");
  CHECK(away[0].header("Accept-Language") == "en");  // a harmless header still follows
}

TEST_CASE("no failure path puts a credential in a log line or an error message",
          "[security][auth]") {
  std::vector<std::string> texts;

  SECTION("a redirect to another origin that answers 401, twice with fresh credentials") {
    SseTestServer origin;
    SseTestServer other;
    origin.handle("/events", [&](const auto&, httplib::Response& response) {
      response.set_redirect(other.url("/events"), 307);
    });
    other.handle("/events",
                 [](const auto&, httplib::Response& response) { response.status = 401; });
    texts = texts_of_a_run(fast_options(origin.url("/events")));
    for (const auto& request : other.requests()) {
      for (const auto& text : texts_of(request))
        CHECK(leaked_markers(text).empty());
    }
    CHECK(origin.requests().size() == 2);  // the first attempt and the one with fresh credentials
    CHECK(origin.requests().back().header("Authorization") == "Bearer " + kProviderSecret + "-2");
    CHECK(origin.requests().back().header("X-Session-Key") == kFreshHeaderSecret);
  }
  SECTION("a redirect loop whose Location repeats the query token") {
    SseTestServer server;
    server.handle("/loop", [&](const auto& request, httplib::Response& response) {
      response.set_redirect("/loop?" + request.query + "&again=" + kQuerySecret, 302);
    });
    auto options = fast_options(server.url("/loop"));
    options.max_redirects = 3;
    texts = texts_of_a_run(options);
    CHECK(server.request_count() == 4);
  }
  SECTION("a 403 with a reason phrase, after a 503 that is retried") {
    std::atomic<int> calls{0};  // before the server, whose handler uses it until it stops
    SseTestServer server;
    server.handle("/events", [&](const auto&, httplib::Response& response) {
      response.status = ++calls == 1 ? 503 : 403;
    });
    texts = texts_of_a_run(fast_options(server.url("/events")));
  }
  SECTION("a 200 that is not an event stream") {
    SseTestServer server;
    server.handle("/events", [](const auto&, httplib::Response& response) {
      response.set_content("<html>login</html>", "text/html");
    });
    texts = texts_of_a_run(fast_options(server.url("/events")));
  }
  SECTION("an untrusted certificate, with a password in the URL") {
    TestAuthority authority;
    const auto issued = authority.issue("loopback", "IP:127.0.0.1");
    SseTestServer server(issued.cert, issued.key);
    const std::string url = server.url("/events");
    texts = texts_of_a_run(fast_options("https://reader:" + kPasswordSecret + "@" +
                                        url.substr(std::string("https://").size())));
  }
  SECTION("nobody listening, with a password in the URL") {
    const std::string url = refused_url("/events");
    texts = texts_of_a_run(fast_options("http://reader:" + kPasswordSecret + "@" +
                                        url.substr(std::string("http://").size())));
  }
  SECTION("an oversized line in an open stream") {
    SseTestServer server;
    server.handle("/events", [&](const auto&, httplib::Response& response) {
      server.stream(response, [](StreamWriter& out) {
        out.write("data: " + std::string(2048, 'x') + "\n\n");
      });
    });
    auto options = fast_options(server.url("/events"));
    options.limits.max_line_bytes = 1024;
    texts = texts_of_a_run(options);
  }

  REQUIRE_FALSE(texts.empty());
  for (const auto& text : texts) {
    CAPTURE(text);
    CHECK(leaked_markers(text).empty());
  }
}

// =============================================================================================
// Header injection. client_test.cpp checks that start() refuses CR, LF and NUL in header values,
// the bearer token, the cookies, the query token and the last event ID with no HTTP request
// made, and client_auth_test.cpp the same of a token provider. These count TCP connections
// instead of requests, add header names and the fresh credentials of a 401, and check that the
// error says what is wrong without echoing the value.

TEST_CASE("a CR or LF in a header name or value is refused before any connection",
          "[security][headers]") {
  struct Case {
    const char* name;
    std::function<void(ssekit::ClientOptions&)> spoil;
    const char* says;  // what the error message must name
  };
  const auto c = GENERATE(
      Case{"CR LF and a second header in a value",
           [](auto& o) {
             o.headers = {{"X-Tenant", "blue\r\nX-Injected: 1"}};
           },
           "X-Tenant"},
      Case{"a lone LF in a value",
           [](auto& o) {
             o.headers = {{"X-Tenant", "blue\nX-Injected: 1"}};
           },
           "CR, LF"},
      Case{"a lone CR in a value",
           [](auto& o) {
             o.headers = {{"X-Tenant", "blue\rX-Injected"}};
           },
           "CR, LF"},
      Case{"CR LF in a name",
           [](auto& o) {
             o.headers = {{"X-Injected: 1\r\nX-Tenant", "blue"}};
           },
           "header name"},
      Case{"a lone LF in a name",
           [](auto& o) {
             o.headers = {{"X-A\nX-Injected", "1"}};
           },
           "header name"},
      Case{"a colon in a name",
           [](auto& o) {
             o.headers = {{"X-Injected:", "1"}};
           },
           "header name"},
      Case{"CR LF in the bearer token", [](auto& o) { o.bearer_token = "t\r\nX-Injected: 1"; },
           "bearer token"},
      Case{"CR LF in the cookies", [](auto& o) { o.cookies = "a=b\r\nX-Injected: 1"; }, "cookies"},
      Case{"CR LF in the method", [](auto& o) { o.method = "GET\r\nX-Injected: 1"; }, "method"},
      Case{"CR LF in the URL", [](auto& o) { o.url += "\r\nX-Injected: 1"; }, "URL"});
  CAPTURE(c.name);
  CountingListener listener;

  auto options = fast_options(listener.url("/events"));
  c.spoil(options);
  Client spoiled(options);
  const ssekit::Error error = spoiled.start();
  CHECK(error.code != ErrorCode::ok);
  CHECK_FALSE(error.recoverable());
  CHECK_THAT(error.message, Catch::Contains(c.says));
  CHECK(error.message.find("Injected") == std::string::npos);  // the value is not echoed
  CHECK(spoiled.state() == State::idle);

  // A sound client after it: the first and only connection the listener sees is its.
  auto sound_options = fast_options(listener.url("/events"));
  sound_options.headers = {{"X-Probe", "sound"}};
  Client sound(sound_options);
  REQUIRE_FALSE(sound.start());
  const auto heads = listener.take_requests(Recorder::kDeadline);
  REQUIRE(heads.size() == 1);
  CHECK_THAT(heads[0], Catch::Contains("X-Probe: sound"));
}

TEST_CASE("a line break from a token provider or in fresh credentials is never sent",
          "[security][headers]") {
  SECTION("the token provider: no connection at all") {
    CountingListener listener;
    auto options = fast_options(listener.url("/events"));
    options.token_provider = [] { return std::string("t\r\nX-Injected: 1"); };
    Recorder recorder;
    Client spoiled(options);
    recorder.attach(spoiled);
    REQUIRE_FALSE(spoiled.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(spoiled.close_reason().code == ErrorCode::invalid_header);
    CHECK_THAT(spoiled.close_reason().message, Catch::Contains("token provider"));
    CHECK(spoiled.close_reason().message.find("Injected") == std::string::npos);

    auto sound_options = fast_options(listener.url("/events"));
    sound_options.headers = {{"X-Probe", "sound"}};
    Client sound(sound_options);
    REQUIRE_FALSE(sound.start());
    const auto heads = listener.take_requests(Recorder::kDeadline);
    REQUIRE(heads.size() == 1);
    CHECK_THAT(heads[0], Catch::Contains("X-Probe: sound"));
  }
  SECTION("fresh credentials after a 401: the refused request is the last") {
    SseTestServer server;
    server.handle("/events",
                  [](const auto&, httplib::Response& response) { response.status = 401; });
    const auto fresh =
        GENERATE(as<ssekit::Credentials>{}, ssekit::Credentials{"t\nX-Injected: 1", {}},
                 ssekit::Credentials{"", {{"X-Signature", "s\r\nX-Injected: 1"}}},
                 ssekit::Credentials{"", {{"X-Injected:\r\nX-A", "1"}}});
    auto options = fast_options(server.url("/events"));
    options.on_unauthorized = [fresh](int) -> std::optional<ssekit::Credentials> { return fresh; };
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(client.close_reason().code == ErrorCode::invalid_header);
    CHECK_THAT(client.close_reason().message, Catch::Contains("fresh"));
    CHECK(client.close_reason().message.find("Injected") == std::string::npos);
    CHECK(server.request_count() == 1);
  }
}

// =============================================================================================
// Memory. parser_test.cpp checks the parser alone holds no more than its limits; these run the
// whole client in a process of its own (stream_memory_probe) against a server that floods it,
// and measure the process's resident memory.

TEST_CASE("a line that never ends costs the client no more than its limits", "[security][memory]") {
  // 1 GiB stands for "endless": the line passes the 1 MiB limit a thousand times over.
  check_flood(Flood::endless_line, kGiB, ssekit::ParserLimits{}, ErrorCode::line_too_long, 120s);
}

TEST_CASE("a 1 GiB event costs the client no more than its limits, and the next event arrives",
          "[security][memory]") {
  SECTION("in 64 KiB data lines") {
    check_flood(Flood::many_data_lines, kGiB, ssekit::ParserLimits{}, ErrorCode::event_too_large,
                120s);
  }
  SECTION("in one data line") {
    check_flood(Flood::one_data_line, kGiB, ssekit::ParserLimits{}, ErrorCode::line_too_long, 120s);
  }
  SECTION("with small limits, memory follows the limits, not the stream") {
    ssekit::ParserLimits small;
    small.max_line_bytes = 64 * 1024;
    small.max_event_bytes = 256 * 1024;
    check_flood(Flood::many_data_lines, kGiB, small, ErrorCode::event_too_large, 120s);
  }
}

// Hidden from the default run (it streams 20 GiB): ctest runs it as the test
// security_ten_gigabyte_event, labelled "large", with a timeout of its own.
TEST_CASE("a 10 GiB event costs the client no more than its limits", "[.][security][ten-gib]") {
  constexpr std::size_t kTenGiB = 10 * kGiB;
  SECTION("in 64 KiB data lines") {
    check_flood(Flood::many_data_lines, kTenGiB, ssekit::ParserLimits{}, ErrorCode::event_too_large,
                900s);
  }
  SECTION("in one data line") {
    check_flood(Flood::one_data_line, kTenGiB, ssekit::ParserLimits{}, ErrorCode::line_too_long,
                900s);
  }
}
