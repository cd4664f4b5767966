// ssebridge with token auth: HS256 tokens minted by `ssebridge token` or by any JWT code
// (here, a few lines of OpenSSL), carried as a bearer header, a cookie or a query parameter.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>

#include "bridge_test_util.hpp"
#include "support/bridge_process.hpp"
#include "support/sse_socket.hpp"

using namespace ssekit::test;

namespace {

const std::string kSecret = "test-secret-of-thirty-two-bytes!";

std::string base64url(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(buffer >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += alphabet[(buffer << (6 - bits)) & 0x3F];
  return out;
}

// A JWT as any app would sign it.
std::string sign(const std::string& header, const std::string& payload,
                 const std::string& secret = kSecret) {
  const std::string input = base64url(header) + "." + base64url(payload);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest, &length);
  return input + "." + base64url(std::string(reinterpret_cast<char*>(digest), length));
}

std::string claims(long long exp_offset, const std::string& channels, const std::string& scope) {
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  return "{\"exp\":" + std::to_string(now + exp_offset) + ",\"channels\":" + channels +
         ",\"scope\":\"" + scope + "\"}";
}

const std::string kHs256 = R"({"alg":"HS256","typ":"JWT"})";

std::string mint(const std::vector<std::string>& args) {
  auto run = run_bridge(args, std::chrono::seconds(20), {{"SSEBRIDGE_AUTH_SECRET", kSecret}});
  REQUIRE(run.exit_code == 0);
  while (!run.out.empty() && run.out.back() == '\n')
    run.out.pop_back();
  return run.out;
}

}  // namespace

TEST_CASE("token auth: a valid token reads, whichever way it is carried", "[bridge][auth]") {
  BridgeProcess bridge({}, {{"SSEBRIDGE_AUTH_SECRET", kSecret}});
  const std::string token = mint({"token", "--channels", "orders,user.42.*", "--ttl", "10m"});

  SseSocket bearer(bridge.port(), "/events?channel=orders", {{"Authorization", "Bearer " + token}});
  CHECK(bearer.status() == 200);
  SseSocket cookie(bridge.port(), "/events?channel=user.42.inbox",
                   {{"Cookie", "theme=dark; ssekit_token=" + token}});
  CHECK(cookie.status() == 200);
  SseSocket query(bridge.port(), "/events?channel=orders&token=" + token);
  CHECK(query.status() == 200);

  // A token signed by the app itself, with any JWT code, works the same.
  const std::string own = sign(kHs256, claims(60, R"(["*"])", "read"));
  SseSocket any(bridge.port(), "/events?channel=anything", {{"Authorization", "Bearer " + own}});
  CHECK(any.status() == 200);

  // The token never reaches the log.
  CHECK(bridge.log().find(token) == std::string::npos);
  CHECK(bridge.log().find(kSecret) == std::string::npos);
}

TEST_CASE("token auth: 401 without a valid token, 403 outside its channels or scope",
          "[bridge][auth]") {
  BridgeProcess bridge({}, {{"SSEBRIDGE_AUTH_SECRET", kSecret}});
  const auto status = [&](const std::string& target, const std::string& token) {
    SseSocket s(bridge.port(), target,
                token.empty() ? SseSocket::Headers{}
                              : SseSocket::Headers{{"Authorization", "Bearer " + token}});
    return s.status();
  };
  const std::string valid = sign(kHs256, claims(60, R"(["orders"])", "read"));

  CHECK(status("/events?channel=orders", "") == 401);
  CHECK(status("/events?channel=orders", valid) == 200);
  CHECK(status("/events?channel=orders", valid.substr(0, valid.size() - 2) + "xx") == 401);
  CHECK(status("/events?channel=orders", sign(kHs256, claims(60, R"(["orders"])", "read"),
                                              "another-secret-32-bytes-long!!!!")) == 401);
  CHECK(status("/events?channel=orders", sign(kHs256, claims(-5, R"(["orders"])", "read"))) == 401);
  CHECK(status("/events?channel=orders",
               sign(R"({"alg":"none"})", claims(60, R"(["orders"])", "read"))) == 401);
  CHECK(status("/events?channel=orders", "not-a-token") == 401);
  CHECK(status("/events?channel=invoices", valid) == 403);
  CHECK(status("/events?channel=orders&channel=invoices", valid) == 403);
  CHECK(status("/events?channel=orders", sign(kHs256, claims(60, R"(["orders"])", "publish"))) ==
        403);

  SseSocket unauthorized(bridge.port(), "/events?channel=orders");
  CHECK(unauthorized.header("WWW-Authenticate").find("Bearer") == 0);
  CHECK(metric(bridge.port(), "ssebridge_auth_failures_total") >= 9);
}

TEST_CASE("token auth: publishing needs the publish scope for that channel", "[bridge][auth]") {
  BridgeProcess bridge({}, {{"SSEBRIDGE_AUTH_SECRET", kSecret}});
  const std::string reader = mint({"token", "--channels", "orders"});
  const std::string writer = mint({"token", "--channels", "orders", "--scope", "publish"});
  const auto bearer = [](const std::string& t) {
    return httplib::Headers{{"Authorization", "Bearer " + t}};
  };

  SseSocket stream(bridge.port(), "/events?channel=orders",
                   {{"Authorization", "Bearer " + reader}});
  REQUIRE(stream.status() == 200);
  CHECK(publish(bridge.port(), "orders", "x") == -401);
  CHECK(publish(bridge.port(), "orders", "x", "message", bearer(reader)) == -403);
  CHECK(publish(bridge.port(), "invoices", "x", "message", bearer(writer)) == -403);
  const long long id = publish(bridge.port(), "orders", "paid", "message", bearer(writer));
  REQUIRE(id > 0);
  const auto event = stream.next_event(5s);
  REQUIRE(event);
  CHECK(event->data == "paid");
}
