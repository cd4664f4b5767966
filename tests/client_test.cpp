// The streaming client end to end against a scripted local server: opening, events, the pull
// API, statuses, content types, redirects, payload sizes, many streams, close().
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "loop_core.hpp"
#include "ssekit/client.hpp"
#include "ssekit/loop.hpp"
#include "support/client_recorder.hpp"
#include "support/sse_test_server.hpp"

using namespace std::chrono_literals;
using ssekit::Client;
using ssekit::ErrorCode;
using ssekit::Event;
using ssekit::State;
using ssekit::test::fast_options;
using ssekit::test::poll_until;
using ssekit::test::Recorder;
using ssekit::test::SseTestServer;
using ssekit::test::StreamWriter;

TEST_CASE("a stream opens and delivers its events in order", "[client]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) {
      out.write("id: 1\ndata: one\n\n");
      out.write("event: tick\ndata: two\ndata: lines\n\n");
      out.write(": heartbeat\n\n");
      out.stall();
    });
  });

  Recorder recorder;

  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());

  REQUIRE(recorder.wait_events(2));
  const auto events = recorder.events();
  CHECK(events[0] == Event{"message", "one", "1"});
  CHECK(events[1] == Event{"tick", "two\nlines", "1"});
  CHECK(client.state() == State::open);
  CHECK(client.last_event_id() == "1");

  const auto request = server.requests().at(0);
  CHECK(request.method == "GET");
  CHECK(request.header("Accept") == "text/event-stream");
  CHECK(request.header("Cache-Control") == "no-cache");
  CHECK_FALSE(request.has_header("Last-Event-ID"));

  client.close();
  CHECK(client.state() == State::closed);
  CHECK(client.close_reason().code == ErrorCode::closed_by_app);
}

TEST_CASE("the pull API hands out queued events and stops waiting once closed", "[client]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) {
      out.write("data: a\n\ndata: b\n\n");
      out.stall();
    });
  });

  Client client(fast_options(server.url("/events")));
  REQUIRE_FALSE(client.start());

  auto first = client.next(Recorder::kDeadline);
  auto second = client.next(Recorder::kDeadline);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->data == "a");
  CHECK(second->data == "b");
  CHECK_FALSE(client.next(20ms));

  client.close();
  const auto before = std::chrono::steady_clock::now();
  CHECK_FALSE(client.next(std::chrono::seconds(10)));
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(5));
}

TEST_CASE("a clean close then a reconnect sends the last dispatched event's id",
          "[client][reconnect]") {
  // Before the server: a request it took in may still reach the handler as the test unwinds.
  std::atomic<int> connection{0};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    const int n = ++connection;
    server.stream(response, [n](StreamWriter& out) {
      if (n == 1) {
        // Event 6 never completes: its id must not count.
        out.write("id: 5\ndata: five\n\nid: 6\ndata: six");
        return;
      }
      out.write("data: after\n\n");
      out.stall();
    });
  });

  Recorder recorder;

  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(2));

  const auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK_FALSE(requests[0].has_header("Last-Event-ID"));
  CHECK(requests[1].header("Last-Event-ID") == "5");
  CHECK(recorder.events()[1] == Event{"message", "after", "5"});

  const auto waits = recorder.states_of(State::waiting);
  REQUIRE(waits.size() == 1);
  CHECK(waits[0].reason.code == ErrorCode::stream_ended);
  CHECK(waits[0].attempt == 1);
  CHECK(client.stats().reconnects == 1);
  CHECK(client.stats().connects == 2);
}

TEST_CASE("a seeded last event id is sent, and an emptied id is not", "[client][reconnect]") {
  // Before the server: a request it took in may still reach the handler as the test unwinds.
  std::atomic<int> connection{0};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    const int n = ++connection;
    server.stream(response, [n](StreamWriter& out) {
      if (n == 1) {
        out.write("id\ndata: reset\n\n");  // an empty id: field resets the last event ID
        return;
      }
      out.stall();
    });
  });

  auto options = fast_options(server.url("/events"));
  options.last_event_id = "seed-42";
  Client client(options);
  CHECK(client.last_event_id() == "");
  REQUIRE_FALSE(client.start());
  REQUIRE(server.wait_for_requests(2));

  const auto requests = server.requests();
  CHECK(requests[0].header("Last-Event-ID") == "seed-42");
  CHECK_FALSE(requests[1].has_header("Last-Event-ID"));
  CHECK(client.last_event_id() == "");
}

TEST_CASE("a POST stream sends its method, headers and body again on every attempt",
          "[client][reconnect]") {
  SseTestServer server;
  server.handle("/stream", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) { out.write("data: x\n\n"); });
  });

  auto options = fast_options(server.url("/stream"));
  options.method = "POST";
  options.body = R"({"prompt":"hello"})";
  options.headers = {{"Content-Type", "application/json"}};
  Client client(options);
  REQUIRE_FALSE(client.start());
  REQUIRE(server.wait_for_requests(3));
  client.close();

  for (const auto& request : server.requests()) {
    CHECK(request.method == "POST");
    CHECK(request.body == options.body);
    CHECK(request.header("Content-Type") == "application/json");
  }
}

TEST_CASE("204 No Content closes the stream for good", "[client][reconnect]") {
  SseTestServer server;
  server.handle("/events", [](const auto&, httplib::Response& response) { response.status = 204; });

  Recorder recorder;

  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::closed));

  CHECK(client.close_reason().code == ErrorCode::server_closed);
  CHECK(recorder.states_of(State::waiting).empty());
  // Several backoff periods (20 ms each) pass without another request.
  std::this_thread::sleep_for(150ms);
  CHECK(server.request_count() == 1);
}

TEST_CASE("statuses that are retried lead to a reconnect", "[client][reconnect]") {
  const int status = GENERATE(500, 502, 503, 504, 408, 429);
  CAPTURE(status);
  // Before the server: a request it took in may still reach the handler as the test unwinds.
  std::atomic<int> connection{0};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    if (++connection == 1) {
      response.status = status;
      response.set_content("busy", "text/plain");
      return;
    }
    server.stream(response, [](StreamWriter& out) {
      out.write("data: back\n\n");
      out.stall();
    });
  });

  Recorder recorder;

  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(1));

  const auto waits = recorder.states_of(State::waiting);
  REQUIRE(waits.size() == 1);
  CHECK(waits[0].reason.code == ErrorCode::http_retryable);
  CHECK(waits[0].reason.http_status == status);
  CHECK(server.request_count() == 2);
}

TEST_CASE("a 4xx with Retry-After is retried after it", "[client][reconnect]") {
  // Before the server: a request it took in may still reach the handler as the test unwinds.
  std::atomic<int> connection{0};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    if (++connection == 1) {
      response.status = 409;
      response.set_header("Retry-After", "0");
      return;
    }
    server.stream(response, [](StreamWriter& out) { out.stall(); });
  });

  Recorder recorder;

  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::open));
  CHECK(recorder.states_of(State::waiting).at(0).reason.http_status == 409);
}

TEST_CASE("other statuses end the stream with an error naming the status", "[client]") {
  struct Case {
    int status;
    ErrorCode code;
    const char* text;
  };
  const auto c = GENERATE(Case{404, ErrorCode::http_status, "HTTP 404 Not Found"},
                          Case{400, ErrorCode::http_status, "HTTP 400 Bad Request"},
                          Case{410, ErrorCode::http_status, "HTTP 410 Gone"},
                          Case{501, ErrorCode::http_status, "HTTP 501 Not Implemented"},
                          Case{401, ErrorCode::unauthorized, "HTTP 401 Unauthorized"},
                          Case{403, ErrorCode::unauthorized, "HTTP 403 Forbidden"});
  CAPTURE(c.status);
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    response.status = c.status;
    response.set_content("no", "text/plain");
  });

  Recorder recorder;

  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::closed));

  const auto reason = client.close_reason();
  CHECK(reason.code == c.code);
  CHECK(reason.http_status == c.status);
  CHECK_THAT(reason.message, Catch::Contains(c.text));
  CHECK_THAT(reason.message, Catch::Contains(server.url("/events")));
  CHECK(server.request_count() == 1);
}

TEST_CASE("the content type decides whether a 200 is an event stream", "[client]") {
  SECTION("another type is fatal and named in the error") {
    SseTestServer server;
    server.handle("/events", [](const auto&, httplib::Response& response) {
      response.set_content("<html></html>", "text/html");
    });
    Recorder recorder;
    Client client(fast_options(server.url("/events")));
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_state(State::closed));
    CHECK(client.close_reason().code == ErrorCode::content_type);
    CHECK_THAT(client.close_reason().message, Catch::Contains("text/html"));
    CHECK(recorder.opens() == 0);
  }
  SECTION("parameters are allowed") {
    SseTestServer server;
    server.handle("/events", [&](const auto&, httplib::Response& response) {
      server.stream(
          response, [](StreamWriter& out) { out.write("data: ok\n\n"), out.stall(); },
          "Text/Event-Stream; charset=utf-8");
    });
    Recorder recorder;
    Client client(fast_options(server.url("/events")));
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_events(1));
    CHECK(recorder.events()[0].data == "ok");
  }
}

TEST_CASE("redirects are followed, with credentials only on the same origin", "[client][auth]") {
  const int status = GENERATE(301, 302, 303, 307, 308);
  CAPTURE(status);
  SseTestServer origin;
  SseTestServer other;  // another port: another origin
  auto serve_events = [](SseTestServer& server) {
    server.handle("/events", [&server](const auto&, httplib::Response& response) {
      server.stream(response, [](StreamWriter& out) {
        out.write("data: here\n\n");
        out.stall();
      });
    });
  };
  serve_events(origin);
  serve_events(other);
  origin.handle("/same", [&](const auto&, httplib::Response& response) {
    response.set_redirect("/events", status);
  });
  origin.handle("/away", [&](const auto&, httplib::Response& response) {
    response.set_redirect(other.url("/events"), status);
  });

  auto options = fast_options(origin.url("/same"));
  options.bearer_token = "secret-bearer";
  options.cookies = "session=secret-cookie";
  options.headers = {{"X-Api-Key", "secret-key"}, {"Accept-Language", "en"}};
  options.last_event_id = "7";

  SECTION("same origin: everything is sent again") {
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_events(1));
    const auto requests = origin.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].path == "/events");
    CHECK(requests[1].header("Authorization") == "Bearer secret-bearer");
    CHECK(requests[1].header("Cookie") == "session=secret-cookie");
    CHECK(requests[1].header("X-Api-Key") == "secret-key");
  }
  SECTION("another origin: no credentials follow") {
    options.url = origin.url("/away");
    Recorder recorder;
    Client client(options);
    recorder.attach(client);
    REQUIRE_FALSE(client.start());
    REQUIRE(recorder.wait_events(1));
    REQUIRE(origin.requests().at(0).header("Authorization") == "Bearer secret-bearer");
    const auto requests = other.requests();
    REQUIRE(requests.size() == 1);
    CHECK_FALSE(requests[0].has_header("Authorization"));
    CHECK_FALSE(requests[0].has_header("Cookie"));
    CHECK_FALSE(requests[0].has_header("X-Api-Key"));
    CHECK(requests[0].header("Accept-Language") == "en");
    CHECK(requests[0].header("Accept") == "text/event-stream");
    CHECK(requests[0].header("Last-Event-ID") == "7");
  }
}

TEST_CASE("a host name is another origin than its address", "[client][auth]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) { out.write("data: x\n\n"), out.stall(); });
  });
  server.handle("/start", [&](const auto&, httplib::Response& response) {
    response.set_redirect(server.localhost_url("/events"), 307);
  });
  auto options = fast_options(server.url("/start"));
  options.bearer_token = "secret-bearer";
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(1));
  const auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].has_header("Authorization"));
  CHECK_FALSE(requests[1].has_header("Authorization"));
}

TEST_CASE("a redirect loop ends with too_many_redirects", "[client]") {
  SseTestServer server;
  server.handle("/loop", [](const auto&, httplib::Response& response) {
    response.set_redirect("/loop", 302);
  });
  auto options = fast_options(server.url("/loop"));
  options.max_redirects = 3;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::closed));
  CHECK(client.close_reason().code == ErrorCode::too_many_redirects);
  CHECK(server.request_count() == 4);
}

TEST_CASE("events delivered one byte at a time come out whole", "[client]") {
  // Before the server: its stream handler is still writing it as the test unwinds.
  const std::string stream =
      "\xEF\xBB\xBFid: 1\r\nevent: greet\r\ndata: h\xC3\xA9llo\r\n\r\n: hb\n"
      "data: line one\ndata: line two\n\nretry: 40\nid: 2\rdata: cr\r\r";
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [&](StreamWriter& out) {
      out.write_bytewise(stream, 1ms);
      out.stall();
    });
  });

  Recorder recorder;

  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(3));

  const auto events = recorder.events();
  CHECK(events[0] == Event{"greet", "h\xC3\xA9llo", "1"});
  CHECK(events[1] == Event{"message", "line one\nline two", "1"});
  CHECK(events[2] == Event{"message", "cr", "2"});
  CHECK(recorder.comments() == std::vector<std::string>{" hb"});
  CHECK(client.stats().bytes == stream.size());
}

TEST_CASE("events of every size arrive as soon as their last byte does", "[client]") {
  // Sizes around the buffer boundaries of libcurl, the kernel and the parser, up to 1 MiB.
  std::vector<std::size_t> sizes = {0, 1, 2, 3, 100};
  for (std::size_t boundary : {1024u, 4096u, 8192u, 16384u, 65536u}) {
    for (std::size_t size = boundary - 10; size <= boundary + 2; ++size)
      sizes.push_back(size);
  }
  sizes.push_back((1u << 20) - 16);

  std::atomic<std::size_t> received{0};
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [&](StreamWriter& out) {
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        // The whole event in one write; the next waits until the client has dispatched it, so
        // an event held back for more bytes would stall the test.
        const std::string data(sizes[i], static_cast<char>('a' + i % 26));
        out.write("data: " + data + "\n\n");
        if (!out.wait_until([&] { return received.load() > i; })) return;
      }
      out.stall();
    });
  });

  auto options = fast_options(server.url("/events"));
  options.reconnect = false;
  // libcurl's default read buffer, its smallest and its largest.
  options.read_buffer_bytes = GENERATE(std::size_t{0}, std::size_t{1024}, std::size_t{512} << 10);
  CAPTURE(options.read_buffer_bytes);
  Client client(options);
  std::vector<std::size_t> got;
  bool contents_ok = true;
  client.on_event([&](const Event& event) {
    const std::size_t i = got.size();
    got.push_back(event.data.size());
    contents_ok = contents_ok &&
                  event.data == std::string(event.data.size(), static_cast<char>('a' + i % 26));
    ++received;
  });
  REQUIRE_FALSE(client.start());
  REQUIRE(poll_until(
      [&] { return received.load() >= sizes.size() || client.state() == State::closed; }));
  client.close();
  CHECK(got == sizes);
  CHECK(contents_ok);
}

TEST_CASE("a hundred streams share one loop", "[client]") {
  constexpr int kStreams = 100;
  SseTestServer server(kStreams + 16);
  server.handle("/events", [&](const auto& request, httplib::Response& response) {
    const std::string name = request.query;
    server.stream(response, [name](StreamWriter& out) {
      out.write("data: " + name + "\n\n");
      out.stall();
    });
  });

  auto loop = std::make_shared<ssekit::Loop>();
  std::vector<std::unique_ptr<Client>> clients;
  std::atomic<int> delivered{0};
  std::atomic<int> wrong{0};
  std::atomic<int> off_loop{0};
  std::mutex mutex;
  std::vector<std::string> reconnect_reasons;
  for (int i = 0; i < kStreams; ++i) {
    auto options = fast_options(server.url("/events?" + std::to_string(i)));
    options.loop = loop;
    clients.push_back(std::make_unique<Client>(options));
    clients.back()->on_state([&](const ssekit::StateChange& change) {
      if (change.state != State::waiting) return;
      std::lock_guard<std::mutex> lock(mutex);
      reconnect_reasons.push_back(change.reason.message);
    });
    clients.back()->on_event([&, i, loop_ptr = loop.get()](const Event& event) {
      if (event.data != std::to_string(i)) ++wrong;
      if (!loop_ptr->on_loop_thread()) ++off_loop;
      ++delivered;
    });
    REQUIRE_FALSE(clients.back()->start());
  }

  CHECK(poll_until([&] { return delivered.load() >= kStreams; }));
  CHECK(delivered.load() == kStreams);
  CHECK(wrong.load() == 0);
  CHECK(off_loop.load() == 0);
  {
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(reconnect_reasons == std::vector<std::string>{});
  }
  for (auto& client : clients)
    CHECK(client->state() == State::open);
  CHECK(loop->core().transfer_count() == kStreams);
  clients.clear();
  CHECK(loop->core().transfer_count() == 0);
}

TEST_CASE("close() returns promptly and no callback runs after it", "[client]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) {
      out.write("data: first\n\n");
      out.stall();  // silent: nothing would wake a client blocked on the socket
    });
  });

  SECTION("while the server is silent") {
    Client client(fast_options(server.url("/events")));
    std::atomic<bool> returned{false};
    std::atomic<int> late{0};
    client.on_state([&](const ssekit::StateChange&) { late += returned ? 1 : 0; });
    client.on_event([&](const Event&) { late += returned ? 1 : 0; });
    REQUIRE_FALSE(client.start());
    REQUIRE(poll_until([&] { return client.stats().events == 1; }));

    const auto before = std::chrono::steady_clock::now();
    client.close();
    const auto took = std::chrono::steady_clock::now() - before;
    returned = true;
    CHECK(took < 100ms);
    CHECK(client.state() == State::closed);
    std::this_thread::sleep_for(50ms);
    CHECK(late.load() == 0);
  }
  SECTION("from inside an event callback") {
    Client client(fast_options(server.url("/events")));
    std::atomic<int> events_after{0};
    std::atomic<bool> closed{false};
    std::chrono::steady_clock::duration took{};
    client.on_event([&](const Event&) {
      if (closed) {
        ++events_after;
        return;
      }
      const auto before = std::chrono::steady_clock::now();
      client.close();
      took = std::chrono::steady_clock::now() - before;
      closed = true;
    });
    REQUIRE_FALSE(client.start());
    REQUIRE(poll_until([&] { return closed.load(); }));
    CHECK(took < 100ms);
    CHECK(client.close_reason().code == ErrorCode::closed_by_app);
    client.close();  // from the app thread as well: joins the loop thread
    CHECK(events_after.load() == 0);
  }
}

TEST_CASE("after close() nothing reconnects", "[client][reconnect]") {
  SseTestServer server;
  server.handle("/events", [](const auto&, httplib::Response& response) { response.status = 503; });
  auto options = fast_options(server.url("/events"));
  options.reconnect_policy.initial = 50ms;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::waiting));
  client.close();
  const auto count = server.request_count();
  std::this_thread::sleep_for(150ms);  // three backoff periods
  CHECK(server.request_count() == count);
  CHECK(recorder.states().back().state == State::closed);
}

TEST_CASE("start() rejects bad options before any request", "[client][auth]") {
  SseTestServer server;
  struct Case {
    const char* name;
    std::function<void(ssekit::ClientOptions&)> spoil;
    ErrorCode code;
  };
  const auto c = GENERATE(
      Case{"CR in a header value",
           [](auto& o) {
             o.headers = {{"X-A", "a\rb"}};
           },
           ErrorCode::invalid_header},
      Case{"LF in a header value",
           [](auto& o) {
             o.headers = {{"X-A", "a\nInjected: 1"}};
           },
           ErrorCode::invalid_header},
      Case{"NUL in a header value",
           [](auto& o) {
             o.headers = {{"X-A", std::string("a\0b", 3)}};
           },
           ErrorCode::invalid_header},
      Case{"a space in a header name",
           [](auto& o) {
             o.headers = {{"X A", "v"}};
           },
           ErrorCode::invalid_header},
      Case{"LF in the bearer token", [](auto& o) { o.bearer_token = "t\nX: y"; },
           ErrorCode::invalid_header},
      Case{"CR in the cookies", [](auto& o) { o.cookies = "a=b\r"; }, ErrorCode::invalid_header},
      Case{"LF in the query token",
           [](auto& o) {
             o.query_token = ssekit::Header{"t", "a\n"};
           },
           ErrorCode::invalid_header},
      Case{"LF in the last event id", [](auto& o) { o.last_event_id = "1\n2"; },
           ErrorCode::invalid_header},
      Case{"a relative URL", [](auto& o) { o.url = "/events"; }, ErrorCode::invalid_url},
      Case{"an ftp URL", [](auto& o) { o.url = "ftp://127.0.0.1/x"; }, ErrorCode::invalid_url},
      Case{"a negative delay",
           [](auto& o) { o.reconnect_policy.initial = std::chrono::milliseconds(-1); },
           ErrorCode::invalid_option},
      Case{"a method with a space", [](auto& o) { o.method = "GE T"; }, ErrorCode::invalid_option});
  CAPTURE(c.name);
  auto options = fast_options(server.url("/events"));
  c.spoil(options);
  Client client(options);
  const auto error = client.start();
  CHECK(error.code == c.code);
  CHECK(client.state() == State::idle);
  CHECK(server.request_count() == 0);
}

TEST_CASE("the stream survives the server going away and coming back", "[client][reconnect]") {
  auto server = std::make_unique<SseTestServer>();
  const int port = server->port();
  server.reset();  // nothing listens on the port now: connection refused

  auto options = fast_options("http://127.0.0.1:" + std::to_string(port) + "/events");
  options.reconnect_policy.max_attempts = 3;
  Recorder recorder;
  Client client(options);
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_state(State::closed));
  const auto waits = recorder.states_of(State::waiting);
  REQUIRE(waits.size() == 2);
  CHECK(waits[0].reason.code == ErrorCode::network);
  CHECK(waits[0].reason.transport_code != 0);
  CHECK(client.close_reason().code == ErrorCode::retries_exhausted);
}

TEST_CASE("a full pull queue pauses reading and loses nothing", "[client]") {
  constexpr int kEvents = 200;
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) {
      for (int i = 0; i < kEvents; ++i) {
        if (!out.write("id: " + std::to_string(i) + "\ndata: " + std::to_string(i) + "\n\n")) {
          return;
        }
      }
      out.stall();
    });
  });

  auto options = fast_options(server.url("/events"));
  options.max_queued_events = 8;
  options.idle_timeout = 1000ms;
  Client client(options);
  REQUIRE_FALSE(client.start());

  // Take events slowly so the queue fills and reading pauses more than once.
  std::vector<std::string> got;
  for (int i = 0; i < kEvents; ++i) {
    auto event = client.next(Recorder::kDeadline);
    if (!event) break;
    got.push_back(event->data);
    if (i % 50 == 0) std::this_thread::sleep_for(150ms);
  }
  REQUIRE(got.size() == kEvents);
  for (int i = 0; i < kEvents; ++i)
    CHECK(got[i] == std::to_string(i));
  CHECK(server.request_count() == 1);
}

TEST_CASE("a client destroyed inside its own callback stops cleanly", "[client]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) {
      out.write("data: one\n\ndata: two\n\n");
      out.stall();
    });
  });

  auto client = std::make_unique<Client>(fast_options(server.url("/events")));
  std::atomic<int> events{0};
  std::atomic<bool> destroyed{false};
  client->on_event([&](const Event&) {
    ++events;
    client.reset();  // the client's own loop thread runs this: it must not join itself
    destroyed = true;
  });
  REQUIRE_FALSE(client->start());
  REQUIRE(poll_until([&] { return destroyed.load(); }));
  std::this_thread::sleep_for(50ms);  // the loop thread winds down by itself
  CHECK(events.load() == 1);
}

TEST_CASE("gzip and brotli responses are decoded", "[client]") {
  const std::string encoding = GENERATE(std::string("gzip"), std::string("br"));
  CAPTURE(encoding);
  const std::string body = "id: 1\ndata: packed\n\ndata: " + std::string(5000, 'z') + "\n\n";
  std::string packed;
  std::unique_ptr<httplib::detail::compressor> compressor;
  if (encoding == "gzip") {
    compressor = std::make_unique<httplib::detail::gzip_compressor>();
  } else {
    compressor = std::make_unique<httplib::detail::brotli_compressor>();
  }
  REQUIRE(compressor->compress(body.data(), body.size(), true, [&](const char* data, size_t n) {
    packed.append(data, n);
    return true;
  }));
  REQUIRE(packed.size() < body.size());

  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    response.set_header("Content-Encoding", encoding);
    server.stream(response, [&](StreamWriter& out) {
      out.write(packed);
      out.stall();
    });
  });
  Recorder recorder;
  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(2));
  CHECK(recorder.events()[0] == Event{"message", "packed", "1"});
  CHECK(recorder.events()[1].data == std::string(5000, 'z'));
  const std::string accepted = server.requests().at(0).header("Accept-Encoding");
  for (const char* name : {"gzip", "br", "zstd"})
    CHECK_THAT(accepted, Catch::Contains(name));
  CHECK(client.stats().bytes == body.size());
}
