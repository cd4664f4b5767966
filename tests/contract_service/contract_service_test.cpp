// contract_service_test.cpp: runs the contract_service binary and plays the conformance
// harness against it, as LaunchDarkly's sse-contract-tests does: a stream server the service's
// client connects to, a callback server its numbered messages arrive at, and the harness's
// scenarios (parsing, comments, BOM, restart, reconnect, request shape, read timeout, large
// events, bad parameters, closing) end to end over 127.0.0.1. The harness's parts are in
// harness.hpp.
#include <httplib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

using namespace ssekit::contract::test;
using namespace std::chrono_literals;
using namespace std::string_literals;

/// How long the service may take to exit after DELETE /.
constexpr auto kExitTimeout = 5s;
/// Time allowed for the 16 MiB event to cross the stream, the service and the callback.
constexpr auto kLargeEventTimeout = 30s;
/// The read timeout the harness asks for in its read-timeout scenario.
constexpr int kReadTimeoutMs = 500;
/// Pieces in which the stream server writes a large event.
constexpr std::size_t kLargeWriteBytes = std::size_t{64} << 10;

constexpr std::size_t kOneMiB = std::size_t{1} << 20;
constexpr std::size_t kSixteenMiB = std::size_t{16} << 20;

/// The capabilities the service must advertise: everything ssekit does.
const char* const kExpectedCapabilities[] = {
    "comments",
    "headers",
    "last-event-id",
    "post",
    "report",
    "read-timeout",
    "restart",
    "server-directed-shutdown-request",
    "event-type-listeners",
    "bom",
};

/// A message the harness expects: an event (type, data, id) or a comment.
struct Expected {
  std::string kind;
  std::string type;
  std::string data;
  std::string id;
};

Expected event(std::string data, std::string type = "message", std::string id = "") {
  return {"event", std::move(type), std::move(data), std::move(id)};
}

Expected comment(std::string text) {
  return {"comment", "", std::move(text), ""};
}

/// Takes the next message and checks it is `expected`. False (after failing a check) when it
/// did not come or differs.
bool require_message(CallbackServer& callbacks, const Expected& expected) {
  const auto message = callbacks.next();
  CHECK(message.has_value());
  if (!message) return false;
  INFO("message: " << message->dump());
  CHECK(message->value("kind", "") == expected.kind);
  if (expected.kind == "comment") {
    CHECK(message->value("comment", "") == expected.data);
    return message->value("comment", "") == expected.data;
  }
  const Json& got = message->contains("event") ? (*message)["event"] : Json::object();
  CHECK(got.value("type", "") == expected.type);
  CHECK(got.value("data", "") == expected.data);
  CHECK(got.value("id", "") == expected.id);
  return message->value("kind", "") == expected.kind && got.value("type", "") == expected.type &&
         got.value("data", "") == expected.data && got.value("id", "") == expected.id;
}

/// The next message that is not an error: after a dropped connection the harness lets the
/// client report an error or not.
std::optional<Json> next_skipping_errors(CallbackServer& callbacks) {
  constexpr int kMostErrors = 10;  // a reconnect reports one; more means a loop gone wrong
  for (int i = 0; i < kMostErrors; ++i) {
    auto message = callbacks.next();
    if (!message || message->value("kind", "") != "error") return message;
  }
  return std::nullopt;
}

/// One harness scenario: what the stream sends, chunk by chunk, and what must come back.
struct Scenario {
  std::string name;
  std::vector<std::string> chunks;
  std::vector<Expected> messages;
  /// When not 0, every chunk is sent in pieces of this many bytes.
  std::size_t piece_bytes = 0;
};

/// Runs each scenario against its own client, stream and callback servers, as the harness does.
void run_scenarios(httplib::Client& service, const std::vector<Scenario>& scenarios) {
  for (const auto& scenario : scenarios) {
    INFO("scenario: " << scenario.name);
    StreamServer stream;
    CallbackServer callbacks;
    ClientUnderTest client(service, stream, callbacks);
    REQUIRE(client.status() == 201);
    const auto connection = stream.await_connection(0);
    REQUIRE(connection);

    for (std::size_t i = 0; i < scenario.chunks.size(); ++i) {
      if (i > 0) std::this_thread::sleep_for(kChunkGap);
      const std::string& chunk = scenario.chunks[i];
      REQUIRE(connection->send_in_pieces(
          chunk, scenario.piece_bytes == 0 ? chunk.size() : scenario.piece_bytes));
    }
    for (const auto& expected : scenario.messages) {
      if (!require_message(callbacks, expected)) break;
    }
    CHECK(callbacks.stray_requests().empty());
  }
}

/// A payload of `size` printable bytes that is not one repeated byte, so that a dropped,
/// repeated or shifted piece shows.
std::string patterned_payload(std::size_t size) {
  constexpr char kFirst = '!';
  constexpr std::size_t kAlphabet = 90;  // '!' .. '{', all printable ASCII
  constexpr std::size_t kStride = 7;     // coprime with kAlphabet: every character in turn
  constexpr std::size_t kPage = 4096;    // the cycle shifts each page, so no two pages match
  std::string payload(size, kFirst);
  for (std::size_t i = 0; i < size; ++i) {
    payload[i] = static_cast<char>(kFirst + (i * kStride + i / kPage) % kAlphabet);
    // Characters JSON would escape make the envelope longer, not the test stronger.
    if (payload[i] == '"' || payload[i] == '\\') payload[i] = '.';
  }
  return payload;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("The status resource names the service and lists every capability", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());

  const auto result = http.Get("/");
  REQUIRE(result);
  CHECK(result->status == 200);
  const Json status = Json::parse(result->body, nullptr, false);
  REQUIRE(status.is_object());
  CHECK(status.value("name", "") == "ssekit");
  REQUIRE(status.contains("capabilities"));
  const auto& capabilities = status["capabilities"];
  for (const char* capability : kExpectedCapabilities) {
    INFO("capability: " << capability);
    CHECK(std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end());
  }
}

TEST_CASE("Basic parsing scenarios reach the callback as the harness expects", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());

  std::string hundred_messages;
  std::vector<Expected> hundred_expected;
  constexpr int kRapidMessages = 100;
  for (int i = 0; i < kRapidMessages; ++i) {
    hundred_messages += "data: message " + std::to_string(i) + "\n\n";
    hundred_expected.push_back(event("message " + std::to_string(i)));
  }

  run_scenarios(
      http,
      {
          {"one-line message in one chunk", {"data: Hello\n\n"}, {event("Hello")}},
          {"one-line message in two chunks", {"data: Hel", "lo\n\n"}, {event("Hello")}},
          {"two messages over three chunks, the middle one shared",
           {"data: Hello\n", "\ndata: World", "\n\n"},
           {event("Hello"), event("World")}},
          {"two one-line messages in one chunk",
           {"data: Hello\n\ndata: World\n\n"},
           {event("Hello"), event("World")}},
          {"one two-line message", {"data: Hello\ndata:World\n\n"}, {event("Hello\nWorld")}},
          {"empty data", {"data:\n\n"}, {event("")}},
          {"event with specific type",
           {"event: greeting\ndata: Hello\n\n"},
           {event("Hello", "greeting")}},
          {"event with ID", {"id: abc\ndata: Hello\n\n"}, {event("Hello", "message", "abc")}},
          {"ID field with a NUL is ignored", {"id: a\0bc\ndata: Hello\n\n"s}, {event("Hello")}},
          {"last ID persists",
           {"id: abc\ndata: first\n\n", "data: second\n\n"},
           {event("first", "message", "abc"), event("second", "message", "abc")}},
          {"last ID reset by an empty value",
           {"id: abc\ndata: first\n\n", "id: \ndata: second\n\n"},
           {event("first", "message", "abc"), event("second")}},
          {"fields in reverse order",
           {"data: Hello\nid: abc\nevent: greeting\n\n"},
           {event("Hello", "greeting", "abc")}},
          {"unknown field is ignored",
           {"event: greeting\ncolor: blue\ndata: Hello\n\n"},
           {event("Hello", "greeting")}},
          {"fields without leading space",
           {"event:greeting\ndata:Hello\n\n"},
           {event("Hello", "greeting")}},
          {"fields with extra leading space",
           {"event:  greeting\ndata:  Hello\n\n"},
           {event(" Hello", " greeting")}},
          {"field with no colon", {"data\n\ndata\ndata\n\n"}, {event(""), event("\n")}},
          {"CRLF and CR line ends",
           {"data: one\r\n\r\ndata: two\r\r"},
           {event("one"), event("two")}},
          {"multi-byte characters", {"data: €豆腐\n\n"}, {event("€豆腐")}},
          {"multi-byte characters in single-byte pieces", {"data: €豆腐\n\n"}, {event("€豆腐")}, 1},
          {"many messages in rapid succession", {hundred_messages}, hundred_expected},
      });
}

TEST_CASE("Comments reach the callback without their colon", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());

  run_scenarios(
      http, {
                {"single comment", {":Hello\n"}, {comment("Hello")}},
                {"two comments", {":Hello\n", ":World\n"}, {comment("Hello"), comment("World")}},
                {"comment before event",
                 {":Hello\n", "data: Hello\n\n"},
                 {comment("Hello"), event("Hello")}},
                {"comment after event",
                 {"data: Hello\n\n", ":Hello\n"},
                 {event("Hello"), comment("Hello")}},
            });
}

TEST_CASE("One BOM at the start of the stream is stripped however it is split", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  const std::string bom = "\xEF\xBB\xBF";

  run_scenarios(
      http,
      {
          {"BOM at start of stream", {bom + "data: Hello\n\n"}, {event("Hello")}},
          {"BOM before an event with type and ID",
           {bom + "event: greeting\nid: abc\ndata: Hello\n\n"},
           {event("Hello", "greeting", "abc")}},
          {"BOM split across two chunks",
           {"\xEF\xBB",
            "\xBF"
            "data: Hello\n\n"},
           {event("Hello")}},
          {"BOM split byte by byte", {"\xEF", "\xBB", "\xBF", "data: Hello\n\n"}, {event("Hello")}},
          {"only the first BOM is stripped",
           {bom + "data: " + bom + "Hello\n\n"},
           {event(bom + "Hello")}},
          {"a BOM later in the stream is data",
           {"data: First\n\n", "data: " + bom + "Second\n\n"},
           {event("First"), event(bom + "Second")}},
          {"BOM then a comment",
           {bom + ":comment\ndata: Hello\n\n"},
           {comment("comment"), event("Hello")}},
      });
}

TEST_CASE("Restart drops the connection and reconnects without reporting an error", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  StreamServer stream;
  CallbackServer callbacks;
  ClientUnderTest client(http, stream, callbacks, {{"initialDelayMs", 0}});
  REQUIRE(client.status() == 201);

  const auto first = stream.await_connection(0);
  REQUIRE(first);
  REQUIRE(first->send("id: abc\ndata: Hello\n\n"));
  REQUIRE(require_message(callbacks, event("Hello", "message", "abc")));

  const int status = client.command({{"command", "restart"}});
  CHECK(status >= 200);
  CHECK(status < 300);
  CHECK(first->wait_client_gone(kMessageTimeout));

  const auto second = stream.await_connection(1);
  REQUIRE(second);
  CHECK(second->request().header("Last-Event-ID") == "abc");
  REQUIRE(second->send("data: Thanks\n\n"));
  // The very next message: an error reported for the restart would come first and fail this.
  CHECK(require_message(callbacks, event("Thanks", "message", "abc")));
}

TEST_CASE("A reconnect sends the ID of the last event that had one", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  StreamServer stream;
  CallbackServer callbacks;
  ClientUnderTest client(http, stream, callbacks, {{"initialDelayMs", 0}});
  REQUIRE(client.status() == 201);

  const auto first = stream.await_connection(0);
  REQUIRE(first);
  CHECK_FALSE(first->request().has_header("Last-Event-ID"));
  REQUIRE(first->send("id: abc\ndata: Hello\n\n"));
  REQUIRE(first->send("data: World\n\n"));
  REQUIRE(require_message(callbacks, event("Hello", "message", "abc")));
  REQUIRE(require_message(callbacks, event("World", "message", "abc")));

  first->break_connection();
  const auto second = stream.await_connection(1);
  REQUIRE(second);
  CHECK(second->request().header("Last-Event-ID") == "abc");
}

TEST_CASE("An empty id: clears the last event ID, so the reconnect sends none", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  StreamServer stream;
  CallbackServer callbacks;
  ClientUnderTest client(http, stream, callbacks, {{"initialDelayMs", 0}});
  REQUIRE(client.status() == 201);

  const auto first = stream.await_connection(0);
  REQUIRE(first);
  REQUIRE(first->send("id: abc\ndata: Hello\n\n"));
  REQUIRE(first->send("id: \ndata: World\n\n"));
  REQUIRE(require_message(callbacks, event("Hello", "message", "abc")));
  REQUIRE(require_message(callbacks, event("World")));

  first->break_connection();
  const auto second = stream.await_connection(1);
  REQUIRE(second);
  CHECK_FALSE(second->request().has_header("Last-Event-ID"));
}

TEST_CASE("A partial event is dropped with the connection and the next one works", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  StreamServer stream;
  CallbackServer callbacks;
  ClientUnderTest client(http, stream, callbacks, {{"initialDelayMs", 0}});
  REQUIRE(client.status() == 201);

  const auto first = stream.await_connection(0);
  REQUIRE(first);
  REQUIRE(first->send("id: abc\ndata: Hello\n\nid: def\ndata: Goodbye"));
  REQUIRE(require_message(callbacks, event("Hello", "message", "abc")));

  first->break_connection();
  const auto second = stream.await_connection(1);
  REQUIRE(second);
  CHECK(second->request().header("Last-Event-ID") == "abc");  // "def" was never dispatched
  REQUIRE(second->send("data: We meet again\n\n"));
  REQUIRE(second->send("id: ghi\ndata: World\n\n"));

  const auto again = next_skipping_errors(callbacks);
  REQUIRE(again.has_value());
  INFO("message: " << again->dump());
  CHECK(again->value("kind", "") == "event");
  CHECK((*again)["event"].value("data", "") == "We meet again");
  CHECK((*again)["event"].value("id", "") == "abc");
  CHECK(require_message(callbacks, event("World", "message", "ghi")));
}

TEST_CASE("A 204 from the server stops the client for good", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  constexpr int kNoContent = 204;
  StreamServer stream(kNoContent);
  CallbackServer callbacks;
  ClientUnderTest client(http, stream, callbacks, {{"initialDelayMs", 0}});
  REQUIRE(client.status() == 201);

  REQUIRE(stream.await_connection(0));
  // With no reconnect delay, a client that retried would be back within milliseconds; a
  // second of silence is ample proof that it stopped.
  constexpr auto kRetryWindow = 1s;
  CHECK_FALSE(stream.await_connection(1, kRetryWindow));
}

TEST_CASE("Redirects are followed, and one without a Location is reported", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());

  for (const int status : {301, 307}) {
    INFO("status: " << status);
    StreamServer target;
    StreamServer redirect(status, target.url());
    CallbackServer callbacks;
    ClientUnderTest client(http, redirect, callbacks);
    REQUIRE(client.status() == 201);
    CHECK(redirect.await_connection(0));
    const auto connection = target.await_connection(0);
    REQUIRE(connection);
    REQUIRE(connection->send("data: hello\n\n"));
    CHECK(require_message(callbacks, event("hello")));

    for (const std::optional<std::string>& location :
         {std::optional<std::string>(""), std::optional<std::string>()}) {
      INFO("Location: " << (location ? "empty" : "missing"));
      StreamServer nowhere(status, location);
      CallbackServer errors;
      ClientUnderTest lost(http, nowhere, errors);
      REQUIRE(lost.status() == 201);
      const auto message = errors.next();
      REQUIRE(message.has_value());
      INFO("message: " << message->dump());
      CHECK(message->value("kind", "") == "error");
    }
  }
}

TEST_CASE("The request carries the method, headers, body and initial last event ID asked for",
          "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  StreamServer stream;
  CallbackServer callbacks;

  SECTION("default method and headers") {
    ClientUnderTest client(http, stream, callbacks);
    REQUIRE(client.status() == 201);
    const auto connection = stream.await_connection(0);
    REQUIRE(connection);
    CHECK(connection->request().method == "GET");
    CHECK(connection->request().header("Accept") == "text/event-stream");
    CHECK(connection->request().header("Cache-Control") == "no-cache");
    CHECK_FALSE(connection->request().has_header("Last-Event-ID"));
  }

  SECTION("custom headers") {
    ClientUnderTest client(
        http, stream, callbacks,
        {{"headers", {{"header-name-1", "value-1"}, {"header-name-2", "value-2"}}}});
    REQUIRE(client.status() == 201);
    const auto connection = stream.await_connection(0);
    REQUIRE(connection);
    CHECK(connection->request().header("header-name-1") == "value-1");
    CHECK(connection->request().header("header-name-2") == "value-2");
  }

  SECTION("initial Last-Event-ID") {
    ClientUnderTest client(http, stream, callbacks, {{"lastEventId", "xyz"}});
    REQUIRE(client.status() == 201);
    const auto connection = stream.await_connection(0);
    REQUIRE(connection);
    CHECK(connection->request().header("Last-Event-ID") == "xyz");
  }

  for (const char* method : {"POST", "REPORT"}) {
    DYNAMIC_SECTION(method << " with a body, sent again on reconnect") {
      const std::string body = R"({"hello": "world"})";
      ClientUnderTest client(http, stream, callbacks,
                             {{"method", method},
                              {"body", body},
                              {"initialDelayMs", 0},
                              {"headers", {{"content-type", "application/json; charset=utf-8"}}}});
      REQUIRE(client.status() == 201);
      const auto first = stream.await_connection(0);
      REQUIRE(first);
      CHECK(first->request().method == method);
      CHECK(first->request().header("Content-Type") == "application/json; charset=utf-8");
      CHECK(first->request().body == body);

      first->break_connection();
      const auto second = stream.await_connection(1);
      REQUIRE(second);
      CHECK(second->request().method == method);
      CHECK(second->request().body == body);
    }
  }
}

TEST_CASE("A read timeout is reported as an error and followed by a reconnect", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  StreamServer stream;
  CallbackServer callbacks;
  ClientUnderTest client(http, stream, callbacks,
                         {{"initialDelayMs", 0}, {"readTimeoutMs", kReadTimeoutMs}});
  REQUIRE(client.status() == 201);

  const auto first = stream.await_connection(0);
  REQUIRE(first);
  REQUIRE(first->send("data: Hello\n\n"));
  REQUIRE(require_message(callbacks, event("Hello")));

  const auto error = callbacks.next();
  REQUIRE(error.has_value());
  INFO("message: " << error->dump());
  CHECK(error->value("kind", "") == "error");
  CHECK_FALSE(error->value("error", "").empty());
  CHECK(stream.await_connection(1));
}

TEST_CASE("Events of 1 MiB and 16 MiB pass through to the callback intact", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());

  for (const std::size_t size : {kOneMiB, kSixteenMiB}) {
    INFO("payload bytes: " << size);
    StreamServer stream;
    CallbackServer callbacks;
    ClientUnderTest client(http, stream, callbacks);
    REQUIRE(client.status() == 201);
    const auto connection = stream.await_connection(0);
    REQUIRE(connection);

    const std::string payload = patterned_payload(size);
    REQUIRE(connection->send_in_pieces("data: " + payload + "\n\n", kLargeWriteBytes));
    REQUIRE(connection->send("data: after\n\n"));

    const auto message = callbacks.next(kLargeEventTimeout);
    REQUIRE(message.has_value());
    REQUIRE(message->value("kind", "") == "event");
    const std::string data = (*message)["event"].value("data", "");
    CHECK(data.size() == payload.size());
    const bool intact = data == payload;  // not CHECK(data == payload): it would print MiBs
    CHECK(intact);
    CHECK(require_message(callbacks, event("after")));
  }
}

TEST_CASE("Payloads around buffer boundaries each arrive promptly", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());

  // What the harness allows a payload under its payload-size capability, which we advertise.
  constexpr auto kPromptly = 3s;
  std::vector<std::size_t> sizes = {1, std::size_t{256} << 10, kOneMiB};
  for (const std::size_t kib : {1, 4, 8, 16, 64}) {
    for (const std::size_t size : {kib * 1024 - 1, kib * 1024, kib * 1024 + 1}) {
      sizes.push_back(size);
    }
  }

  for (const std::size_t size : sizes) {
    INFO("payload bytes: " << size);
    StreamServer stream;
    CallbackServer callbacks;
    ClientUnderTest client(http, stream, callbacks);
    REQUIRE(client.status() == 201);
    const auto connection = stream.await_connection(0);
    REQUIRE(connection);

    const std::string payload = patterned_payload(size);
    REQUIRE(connection->send("data: " + payload + "\n\n"));
    const auto message = callbacks.next(kPromptly);
    REQUIRE(message.has_value());
    const bool intact =
        message->value("kind", "") == "event" && (*message)["event"].value("data", "") == payload;
    CHECK(intact);
  }
}

TEST_CASE("Bad create parameters answer 400 and start nothing", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  StreamServer stream;
  CallbackServer callbacks;
  const Json valid{{"streamUrl", stream.url()}, {"callbackUrl", callbacks.url()}};

  const auto with = [&](const char* name, Json value) {
    Json body = valid;
    body[name] = std::move(value);
    return body.dump();
  };
  const auto without = [&](const char* name) {
    Json body = valid;
    body.erase(name);
    return body.dump();
  };

  const std::pair<const char*, std::string> cases[] = {
      {"not JSON", "streamUrl=x"},
      {"a JSON array", "[]"},
      {"no streamUrl", without("streamUrl")},
      {"no callbackUrl", without("callbackUrl")},
      {"streamUrl not a string", with("streamUrl", 42)},
      {"streamUrl not http", with("streamUrl", "ftp://127.0.0.1/stream")},
      {"callbackUrl relative", with("callbackUrl", "/callback")},
      {"negative initialDelayMs", with("initialDelayMs", -1)},
      {"initialDelayMs a string", with("initialDelayMs", "100")},
      {"readTimeoutMs a fraction", with("readTimeoutMs", 1.5)},
      {"headers not an object", with("headers", "x: y")},
      {"a header value not a string", with("headers", {{"x", 1}})},
      {"a header value with a line break", with("headers", {{"x", "a\r\nInjected: b"}})},
      {"method not a token", with("method", "NOT A METHOD")},
      {"lastEventId not a string", with("lastEventId", 7)},
  };
  for (const auto& [name, body] : cases) {
    INFO("case: " << name);
    const auto result = http.Post("/", body, "application/json");
    REQUIRE(result);
    CHECK(result->status == 400);
  }
  // None of them may have started a client.
  CHECK_FALSE(stream.await_connection(0, 200ms));

  SECTION("null durations mean the defaults and are accepted") {
    ClientUnderTest client(http, stream, callbacks,
                           {{"initialDelayMs", nullptr}, {"readTimeoutMs", nullptr}});
    CHECK(client.status() == 201);
    CHECK(client.location().rfind("http://", 0) == 0);
    CHECK(stream.await_connection(0));
  }
}

TEST_CASE("Commands reach only existing streams and only known commands succeed", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  StreamServer stream;
  CallbackServer callbacks;
  ClientUnderTest client(http, stream, callbacks);
  REQUIRE(client.status() == 201);
  const auto connection = stream.await_connection(0);
  REQUIRE(connection);

  SECTION("listen is accepted and events of that type still arrive") {
    const int status = client.command({{"command", "listen"}, {"listen", {{"type", "greeting"}}}});
    CHECK(status >= 200);
    CHECK(status < 300);
    const int early = client.command({{"command", "listen"}, {"Listen", {{"type", "other"}}}});
    CHECK(early >= 200);
    CHECK(early < 300);
    CHECK(client.command({{"command", "listen"}}) == 400);
    REQUIRE(connection->send("event: greeting\ndata: Hello\n\n"));
    CHECK(require_message(callbacks, event("Hello", "greeting")));
  }

  SECTION("an unknown command or a body without one is 400") {
    CHECK(client.command({{"command", "dance"}}) == 400);
    CHECK(client.command({{"nothing", true}}) == 400);
  }

  SECTION("a stream that does not exist is 404") {
    const auto command = http.Post("/streams/999", R"({"command":"restart"})", "application/json");
    REQUIRE(command);
    CHECK(command->status == 404);
    const auto removal = http.Delete("/streams/999");
    REQUIRE(removal);
    CHECK(removal->status == 404);
  }

  SECTION("DELETE closes the client's connection and forgets the stream") {
    const int status = client.close();
    CHECK((status == 200 || status == 204));
    CHECK(connection->wait_client_gone(kMessageTimeout));
    const auto again =
        http.Delete(client.location().substr(client.location().find("/streams")).c_str());
    REQUIRE(again);
    CHECK(again->status == 404);
  }
}

TEST_CASE("DELETE / makes the service exit", "[contract]") {
  ServiceProcess service;
  REQUIRE(service.port() > 0);
  httplib::Client http("127.0.0.1", service.port());
  StreamServer stream;
  CallbackServer callbacks;
  ClientUnderTest client(http, stream, callbacks);
  REQUIRE(client.status() == 201);
  const auto connection = stream.await_connection(0);
  REQUIRE(connection);

  const auto result = http.Delete("/");
  // The harness accepts an answer or a connection the service closed while exiting.
  if (result) CHECK(result->status < 300);
  CHECK(service.wait_exit(kExitTimeout) == 0);
  CHECK(connection->wait_client_gone(kMessageTimeout));
}
