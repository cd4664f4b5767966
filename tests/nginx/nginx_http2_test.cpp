// nginx_http2_test.cpp: ssekit behind nginx with TLS and HTTP/2, as it is deployed. Many streams
// of one process share one connection, every event reaches every stream once and in order, a
// closed stream leaves the others running, and the proxy settings SSE needs are shown to matter.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bridge_test_util.hpp"
#include "loop_core.hpp"
#include "nginx/nginx_process.hpp"
#include "nginx/tcp_connections.hpp"
#include "nginx/tls_authority.hpp"
#include "ssekit/client.hpp"
#include "ssekit/loop.hpp"
#include "support/bridge_process.hpp"
#include "support/client_recorder.hpp"

using namespace std::chrono_literals;
using ssekit::Client;
using ssekit::ClientOptions;
using ssekit::HttpVersion;
using ssekit::Loop;
using ssekit::State;
using ssekit::test::BridgeProcess;
using ssekit::test::NginxOptions;
using ssekit::test::NginxProcess;
using ssekit::test::ProxyRoute;
using ssekit::test::Recorder;
using ssekit::test::TlsAuthority;

namespace {

// The figure: streams one process opens through the proxy.
constexpr int kStreams = 200;

// nginx allows 128 concurrent streams per HTTP/2 connection by default, fewer than kStreams;
// a deployment with more streams per client raises it, as this one does.
constexpr int kConcurrentStreamLimit = 256;

// Streams opened at once. All 200 together once left a stream without the first batch of
// events, under ASan on a loaded machine, not understood yet (docs/reliability.md); four at a
// time, each burst seen at the bridge before the next, has not.
constexpr int kOpenBurst = 4;

// Events published before and after one stream is closed.
constexpr int kFirstBatch = 20;
constexpr int kSecondBatch = 10;

// The stream closed in the middle of the run: any one but the first, which negotiated.
constexpr int kClosedStream = 57;

// One deadline per phase (open 200 streams, deliver a batch to all of them). Generous because
// the suite shares two cores with builds; a passing run needs a small fraction of it.
constexpr auto kPhaseDeadline = 30s;

// Heartbeats well inside the clients' 10 s watchdog (fast_options), so a slow phase on a loaded
// machine is never mistaken for a dead link.
const std::string kBridgeHeartbeat = "2s";

// A proxy_read_timeout far below any heartbeat interval, so a quiet stream is cut quickly.
const std::string kShortReadTimeout = "1s";

// Events of about 40 bytes each on the wire: together far below the 16 KiB nginx collects in
// one TLS record (ssl_buffer_size) when nothing flushes, so a buffering nginx holds all of them.
constexpr int kSmallEvents = 3;

// Data of the events that fill nginx's TLS record, a dozen at most, each given a moment.
constexpr std::size_t kFillerBytes = 4000;
constexpr int kMaxFillers = 12;
constexpr auto kFillerWait = 500ms;

// How long a buffered stream is watched for events the unbuffered ones already have.
constexpr auto kObservationWindow = 1000ms;

// Watchdogs of the read-timeout test: one that outlasts the test, and one that notices a stream
// nginx reset on a shared connection within a few seconds.
constexpr std::chrono::milliseconds kPatientWatchdog = 60s;
constexpr std::chrono::milliseconds kShortWatchdog = 3s;

// One stream through the proxy and what it received.
struct Stream {
  std::unique_ptr<Recorder> recorder = std::make_unique<Recorder>();
  std::unique_ptr<Client> client;
};

// Options of a stream through `nginx` at `path`: the throwaway CA trusted, on `loop`.
ClientOptions stream_options(const NginxProcess& nginx, const TlsAuthority& authority,
                             const std::string& path, HttpVersion version,
                             const std::shared_ptr<Loop>& loop) {
  ClientOptions options = ssekit::test::fast_options(nginx.url(path));
  options.http_version = version;
  options.tls.ca_file = authority.ca_file();
  options.loop = loop;
  return options;
}

Stream start_stream(ClientOptions options) {
  Stream stream;
  stream.client = std::make_unique<Client>(std::move(options));
  stream.recorder->attach(*stream.client);
  REQUIRE_FALSE(stream.client->start());
  return stream;
}

// Publishes `count` events straight to the bridge; returns them as a stream should see them.
std::vector<ssekit::Event> publish_batch(int bridge_port, const std::string& channel,
                                         const std::string& label, int count) {
  std::vector<ssekit::Event> published;
  for (int i = 0; i < count; ++i) {
    ssekit::Event event;
    event.type = "order.paid";
    event.data = label + " " + std::to_string(i);
    const long long id = ssekit::test::publish(bridge_port, channel, event.data, event.type);
    REQUIRE(id > 0);
    event.id = std::to_string(id);
    published.push_back(event);
  }
  return published;
}

// Waits until every stream but `skipped` holds `count` events, within one shared deadline.
bool wait_for_events(const std::vector<Stream>& streams, std::size_t count, int skipped = -1) {
  const auto deadline = std::chrono::steady_clock::now() + kPhaseDeadline;
  for (int i = 0; i < static_cast<int>(streams.size()); ++i) {
    if (i == skipped) continue;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms || !streams[i].recorder->wait_events(count, left)) return false;
  }
  return true;
}

// "" when `received` is exactly `expected` (same ids, types and data, same order), else what
// differs first.
std::string difference(const std::vector<ssekit::Event>& received,
                       const std::vector<ssekit::Event>& expected) {
  for (std::size_t i = 0; i < received.size() && i < expected.size(); ++i) {
    const auto& got = received[i];
    const auto& want = expected[i];
    if (got.id != want.id || got.type != want.type || got.data != want.data) {
      return "event " + std::to_string(i) + " is id " + got.id + " '" + got.data +
             "', expected id " + want.id + " '" + want.data + "'";
    }
  }
  if (received.size() != expected.size()) {
    return std::to_string(received.size()) + " events, expected " + std::to_string(expected.size());
  }
  return "";
}

// The access log lines of finished /events requests.
std::vector<std::string> stream_log_lines(const NginxProcess& nginx) {
  std::vector<std::string> lines;
  std::istringstream log(nginx.access_log());
  std::string line;
  while (std::getline(log, line)) {
    if (line.find("/events?") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

}  // namespace

TEST_CASE(
    "200 streams through nginx share one HTTP/2 connection, get every event once and in "
    "order, and closing one leaves the other 199 running",
    "[nginx]") {
  // automatic negotiates HTTP/2 by ALPN on the first stream, the others wait for its answer;
  // http2 asks for it outright. Both must end on one connection.
  const HttpVersion version = GENERATE(HttpVersion::http2, HttpVersion::automatic);
  CAPTURE(version == HttpVersion::http2 ? "http2" : "automatic");

  TlsAuthority authority;
  BridgeProcess bridge({"--heartbeat", kBridgeHeartbeat});
  NginxOptions proxy;
  proxy.max_concurrent_streams = kConcurrentStreamLimit;
  NginxProcess nginx(authority, bridge.port(), proxy);

  // A few streams at a time (see kOpenBurst); each becomes an upstream connection from nginx
  // to the bridge.
  auto loop = std::make_shared<Loop>();
  std::vector<Stream> streams;
  while (static_cast<int>(streams.size()) < kStreams) {
    for (int i = 0; i < kOpenBurst && static_cast<int>(streams.size()) < kStreams; ++i) {
      streams.push_back(
          start_stream(stream_options(nginx, authority, "/events?channel=orders", version, loop)));
    }
    REQUIRE(ssekit::test::eventually(
        [&] {
          return ssekit::test::metric(bridge.port(), "ssebridge_clients_connected") ==
                 static_cast<long long>(streams.size());
        },
        kPhaseDeadline));
  }

  // One connection, seen by the kernel (sockets of this process to nginx's port) and by libcurl
  // (connections the loop's transfers made).
  CHECK(ssekit::test::established_connections_to(nginx.port()) == 1);
  CHECK(loop->core().connection_count() == 1);

  const auto first = publish_batch(bridge.port(), "orders", "first", kFirstBatch);
  REQUIRE(wait_for_events(streams, kFirstBatch));
  int wrong_streams = 0;
  for (const auto& stream : streams) {
    const std::string problem = difference(stream.recorder->events(), first);
    if (!problem.empty() && ++wrong_streams == 1) UNSCOPED_INFO("first wrong stream: " << problem);
  }
  CHECK(wrong_streams == 0);

  // Closing one stream resets only its HTTP/2 stream: nginx ends that upstream request, the
  // shared connection and the other streams go on.
  streams[kClosedStream].client->close();
  CHECK(streams[kClosedStream].client->state() == State::closed);
  REQUIRE(ssekit::test::eventually(
      [&] {
        return ssekit::test::metric(bridge.port(), "ssebridge_clients_connected") == kStreams - 1;
      },
      kPhaseDeadline));
  CHECK(ssekit::test::established_connections_to(nginx.port()) == 1);

  const auto second = publish_batch(bridge.port(), "orders", "second", kSecondBatch);
  REQUIRE(wait_for_events(streams, kFirstBatch + kSecondBatch, kClosedStream));
  auto both = first;
  both.insert(both.end(), second.begin(), second.end());
  wrong_streams = 0;
  int reconnected_streams = 0;
  std::string first_reconnect_reason;
  for (int i = 0; i < kStreams; ++i) {
    const auto& expected = i == kClosedStream ? first : both;
    const std::string problem = difference(streams[i].recorder->events(), expected);
    if (!problem.empty() && ++wrong_streams == 1) {
      UNSCOPED_INFO("stream " << i << ": " << problem);
    }
    const auto stats = streams[i].client->stats();
    if ((stats.connects != 1 || stats.reconnects != 0) && ++reconnected_streams == 1) {
      for (const auto& error : streams[i].recorder->errors())
        first_reconnect_reason += error.message + "\n";
    }
  }
  CHECK(wrong_streams == 0);
  INFO("errors of the first stream that reconnected:\n" << first_reconnect_reason);
  CHECK(reconnected_streams == 0);
  CHECK(ssekit::test::established_connections_to(nginx.port()) == 1);
  CHECK(loop->core().connection_count() == 1);

  // nginx's own view, written as each stream ends: every stream was HTTP/2, all on one
  // connection (the serial number nginx gives each client connection).
  // Closing the clients alone is not enough here: with no stream left on the connection,
  // libcurl 7.88 left all 199 open at nginx (the bridge still counted them 20 s later). Closing
  // the connection, which the loop owns, ends them.
  streams.clear();
  loop.reset();
  const bool all_logged = ssekit::test::eventually(
      [&] { return static_cast<int>(stream_log_lines(nginx).size()) >= kStreams; }, kPhaseDeadline);
  INFO("nginx log:\n" << nginx.error_log());
  INFO("streams nginx logged: " << stream_log_lines(nginx).size() << ", bridge clients: "
                                << ssekit::test::metric(bridge.port(),
                                                        "ssebridge_clients_connected"));
  REQUIRE(all_logged);
  std::set<std::string> connections;
  int http2_streams = 0;
  for (const auto& line : stream_log_lines(nginx)) {
    connections.insert(line.substr(0, line.find(' ')));
    http2_streams += line.find(" HTTP/2.0 ") != std::string::npos ? 1 : 0;
  }
  CHECK(http2_streams == kStreams);
  CHECK(connections.size() == 1);
}

TEST_CASE(
    "a proxy_read_timeout shorter than the server's silence cuts the stream, and the client "
    "reconnects and resumes without a loss or a duplicate",
    "[nginx]") {
  TlsAuthority authority;
  // No heartbeats, so the streams fall silent; a short retry: so reconnects come quickly.
  BridgeProcess bridge({"--heartbeat", "0", "--retry", "100ms"});
  NginxOptions proxy;
  ProxyRoute impatient;
  impatient.prefix = "/impatient/";
  impatient.read_timeout = kShortReadTimeout;
  proxy.routes = {ProxyRoute{}, impatient};
  NginxProcess nginx(authority, bridge.port(), proxy);

  // `cut` has a connection of its own. `cut_shared` shares one with `patient`, where libcurl
  // 7.88 does not report nginx's RST_STREAM (see docs/deploy.md): the watchdog must notice.
  auto shared_loop = std::make_shared<Loop>();
  auto patient_options =
      stream_options(nginx, authority, "/events?channel=quiet", HttpVersion::http2, shared_loop);
  patient_options.idle_timeout = kPatientWatchdog;
  const auto patient = start_stream(patient_options);
  const auto cut = start_stream(stream_options(nginx, authority, "/impatient/events?channel=quiet",
                                               HttpVersion::http2, std::make_shared<Loop>()));
  auto cut_shared_options = stream_options(nginx, authority, "/impatient/events?channel=quiet",
                                           HttpVersion::http2, shared_loop);
  cut_shared_options.idle_timeout = kShortWatchdog;
  const auto cut_shared = start_stream(cut_shared_options);
  REQUIRE(ssekit::test::eventually(
      [&] { return ssekit::test::metric(bridge.port(), "ssebridge_clients_connected") == 3; },
      kPhaseDeadline));
  const auto before = publish_batch(bridge.port(), "quiet", "before", 1);
  for (const auto* stream : {&patient, &cut, &cut_shared})
    REQUIRE(stream->recorder->wait_events(1));

  // All three are equally quiet from here on; only those behind the short timeout are cut.
  REQUIRE(ssekit::test::poll_until(
      [&] { return cut.client->stats().connects >= 2 && cut_shared.client->stats().connects >= 2; },
      kPhaseDeadline));
  INFO("nginx log:\n" << nginx.error_log());
  CHECK_THAT(nginx.error_log(), Catch::Contains("upstream timed out"));
  CHECK(patient.client->stats().connects == 1);

  // Each reconnect sent Last-Event-ID: the next event arrives once, nothing is repeated.
  const auto after = publish_batch(bridge.port(), "quiet", "after", 1);
  auto both = before;
  both.push_back(after.front());
  for (const auto* stream : {&patient, &cut, &cut_shared}) {
    REQUIRE(stream->recorder->wait_events(both.size()));
    CHECK(difference(stream->recorder->events(), both).empty());
  }
}

TEST_CASE(
    "with proxy buffering forced on, small events wait in nginx for an HTTP/1.1 client, "
    "while buffering off, X-Accel-Buffering and gzip with buffering off pass them at once",
    "[nginx]") {
  TlsAuthority authority;
  BridgeProcess bridge({"--heartbeat", "0"});  // heartbeats would add bytes to the buffer
  NginxOptions proxy;
  ProxyRoute buffered;  // buffering on, and the bridge's X-Accel-Buffering: no ignored
  buffered.prefix = "/buffered/";
  buffered.buffering = true;
  buffered.honour_accel_buffering = false;
  ProxyRoute accel;  // buffering on, but the bridge's X-Accel-Buffering: no turns it off
  accel.prefix = "/accel/";
  accel.buffering = true;
  ProxyRoute gzip;  // compression, with buffering off
  gzip.prefix = "/gzip/";
  gzip.gzip = true;
  proxy.routes = {ProxyRoute{}, buffered, accel, gzip};
  NginxProcess nginx(authority, bridge.port(), proxy);

  // HTTP/1.1 to nginx: there, unflushed writes wait for a full TLS record. (Over HTTP/2 nginx
  // 1.22 sent them at once even with buffering on; the guide does not rely on that.)
  auto loop = std::make_shared<Loop>();
  std::vector<Stream> prompt;
  for (const char* prefix : {"/", "/accel/", "/gzip/"}) {
    prompt.push_back(
        start_stream(stream_options(nginx, authority, std::string(prefix) + "events?channel=small",
                                    HttpVersion::http1_1, loop)));
  }
  const auto held = start_stream(stream_options(nginx, authority, "/buffered/events?channel=small",
                                                HttpVersion::http1_1, loop));
  REQUIRE(ssekit::test::eventually(
      [&] { return ssekit::test::metric(bridge.port(), "ssebridge_clients_connected") == 4; },
      kPhaseDeadline));

  const auto small = publish_batch(bridge.port(), "small", "small", kSmallEvents);
  REQUIRE(wait_for_events(prompt, kSmallEvents));
  for (const auto& stream : prompt)
    CHECK(difference(stream.recorder->events(), small).empty());

  // An observation window, not a synchronisation: the other routes have delivered already.
  CHECK_FALSE(held.recorder->wait_events(1, kObservationWindow));

  // Larger events fill the record, which then goes out with the small events first.
  int fillers = 0;
  while (fillers < kMaxFillers && !held.recorder->wait_events(kSmallEvents, kFillerWait)) {
    publish_batch(bridge.port(), "small", std::string(kFillerBytes, 'x'), 1);
    ++fillers;
  }
  INFO("events of " << kFillerBytes << " bytes published to release the small ones: " << fillers);
  INFO("nginx log:\n" << nginx.error_log());
  auto received = held.recorder->events();
  REQUIRE(received.size() >= small.size());
  received.resize(small.size());
  CHECK(difference(received, small).empty());
  CHECK(fillers >= 1);
}
