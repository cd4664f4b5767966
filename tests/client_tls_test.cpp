// The client over TLS against a local server with a throwaway self-signed certificate:
// verification on by default, a custom CA file, and a fatal error naming the certificate problem.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "ssekit/client.hpp"
#include "support/client_recorder.hpp"
#include "support/sse_test_server.hpp"

using ssekit::Client;
using ssekit::ErrorCode;
using ssekit::State;
using ssekit::test::fast_options;
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

}  // namespace

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
