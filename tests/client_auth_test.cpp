// Credentials: static headers, bearer tokens, rotating token providers, cookies, a query token,
// fresh credentials after 401/403, and secrets kept out of every log line and error message.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>

#include "ssekit/client.hpp"
#include "support/client_recorder.hpp"
#include "support/sse_test_server.hpp"

using namespace std::chrono_literals;
using ssekit::Client;
using ssekit::Credentials;
using ssekit::ErrorCode;
using ssekit::LogLevel;
using ssekit::State;
using ssekit::test::fast_options;
using ssekit::test::Recorder;
using ssekit::test::SseTestServer;
using ssekit::test::StreamWriter;

namespace {

// Collects log lines from the loop thread.
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

void serve_stream_that_ends(SseTestServer& server, const std::string& path) {
  server.handle(path, [&server](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) { out.write("data: x\n\n"); });
  });
}

}  // namespace

TEST_CASE("static credentials go out on every request", "[auth]") {
  SseTestServer server;
  serve_stream_that_ends(server, "/events");
  auto options = fast_options(server.url("/events"));
  options.bearer_token = "static-token";
  options.cookies = "a=1; b=2";
  options.headers = {{"X-Tenant", "blue"}, {"Accept", "text/event-stream, */*"}};
  Client client(options);
  REQUIRE_FALSE(client.start());
  REQUIRE(server.wait_for_requests(2));
  client.close();
  for (const auto& request : server.requests()) {
    CHECK(request.header("Authorization") == "Bearer static-token");
    CHECK(request.header("Cookie") == "a=1; b=2");
    CHECK(request.header("X-Tenant") == "blue");
    CHECK(request.header("Accept") == "text/event-stream, */*");  // the app's overrides ours
    CHECK(request.headers.count("Accept") == 1);
  }
}

TEST_CASE("the token provider is asked before every attempt", "[auth]") {
  SseTestServer server;
  serve_stream_that_ends(server, "/events");
  std::atomic<int> calls{0};
  auto options = fast_options(server.url("/events"));
  options.token_provider = [&] { return "rotating-" + std::to_string(++calls); };
  Client client(options);
  REQUIRE_FALSE(client.start());
  REQUIRE(server.wait_for_requests(3));
  client.close();
  const auto requests = server.requests();
  CHECK(requests[0].header("Authorization") == "Bearer rotating-1");
  CHECK(requests[1].header("Authorization") == "Bearer rotating-2");
  CHECK(requests[2].header("Authorization") == "Bearer rotating-3");
}

TEST_CASE("a 401 asks the token provider again and retries once", "[auth]") {
  SseTestServer server;
  server.handle("/events", [&](const auto& request, httplib::Response& response) {
    if (request.header("Authorization") != "Bearer fresh") {
      response.status = 401;
      return;
    }
    server.stream(response, [](StreamWriter& out) {
      out.write("data: in\n\n");
      out.stall();
    });
  });
  std::atomic<int> calls{0};
  auto options = fast_options(server.url("/events"));
  options.token_provider = [&] { return ++calls == 1 ? "expired" : "fresh"; };
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(1));
  CHECK(calls.load() == 2);
  CHECK(server.request_count() == 2);
  CHECK(recorder.states_of(State::waiting).empty());  // straight back to connecting
}

TEST_CASE("a refusal of fresh credentials is fatal", "[auth]") {
  SseTestServer server;
  server.handle("/events", [](const auto&, httplib::Response& response) { response.status = 403; });
  std::atomic<int> asked{0};
  auto options = fast_options(server.url("/events"));

  SECTION("the credentials callback gives new ones, the server refuses them too") {
    options.on_unauthorized = [&](int status) -> std::optional<Credentials> {
      CHECK(status == 403);
      ++asked;
      Credentials credentials;
      credentials.bearer_token = "second-token";
      credentials.headers = {{"X-Signature", "sig-value"}};
      return credentials;
    };
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(asked.load() == 1);
    REQUIRE(server.request_count() == 2);
    CHECK(server.requests()[1].header("Authorization") == "Bearer second-token");
    CHECK(server.requests()[1].header("X-Signature") == "sig-value");
    CHECK(client.close_reason().code == ErrorCode::unauthorized);
    CHECK(client.close_reason().http_status == 403);
  }
  SECTION("the credentials callback has none") {
    options.on_unauthorized = [&](int) -> std::optional<Credentials> {
      ++asked;
      return std::nullopt;
    };
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(asked.load() == 1);
    CHECK(server.request_count() == 1);
    CHECK(client.close_reason().code == ErrorCode::unauthorized);
  }
}

TEST_CASE("a query token is appended URL-encoded", "[auth]") {
  SseTestServer server;
  serve_stream_that_ends(server, "/events");
  auto options = fast_options(server.url("/events?topic=a"));
  options.query_token = ssekit::Header{"access_token", "s3cr&t v=1"};
  Client client(options);
  REQUIRE_FALSE(client.start());
  REQUIRE(server.wait_for_requests(1));
  client.close();
  CHECK(server.requests()[0].query == "topic=a&access_token=s3cr%26t%20v%3D1");
}

TEST_CASE("a token provider returning a line break ends the client before sending it", "[auth]") {
  SseTestServer server;
  serve_stream_that_ends(server, "/events");
  auto options = fast_options(server.url("/events"));
  options.token_provider = [] { return std::string("abc\r\nX-Injected: 1"); };
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::closed));
  CHECK(client.close_reason().code == ErrorCode::invalid_header);
  CHECK(server.request_count() == 0);
}

TEST_CASE("secrets never reach a log line or an error message", "[auth]") {
  // Before the server: a request it took in may still reach the handler as the test unwinds.
  std::atomic<int> connection{0};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    const int n = ++connection;
    if (n == 1) {
      response.status = 503;
      return;
    }
    if (n == 2) {
      server.stream(response, [](StreamWriter& out) {
        for (int i = 0; i < 50; ++i)
          out.write("data: event\n\n");
      });
      return;
    }
    response.status = 404;
  });

  LogLines log;
  auto options = fast_options(server.url("/events"));
  options.bearer_token = "bearer-SECRET";
  options.cookies = "sid=cookie-SECRET";
  options.query_token = ssekit::Header{"token", "query-SECRET"};
  options.headers = {{"X-Api-Key", "header-SECRET"}};
  options.logger = log.sink();
  options.log_level = LogLevel::debug;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::closed));

  std::vector<std::string> texts = log.snapshot();
  for (const auto& error : recorder.errors())
    texts.push_back(error.message);
  for (const auto& change : recorder.states())
    texts.push_back(change.reason.message);
  texts.push_back(client.close_reason().message);
  for (const auto& text : texts) {
    CAPTURE(text);
    CHECK(text.find("SECRET") == std::string::npos);
  }
  // One line per state change, none per event: 50 events add nothing.
  CHECK(log.snapshot().size() <= recorder.states().size() + 2);
  CHECK_THAT(client.close_reason().message, Catch::Contains("token=***"));
  CHECK_THAT(client.close_reason().message, Catch::Contains("HTTP 404 Not Found"));
}
