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
  // An alg that is not a string (found by bridge_token_fuzz: it threw instead of refusing).
  CHECK(status("/events?channel=orders",
               sign(R"({"alg":7})", claims(60, R"(["orders"])", "read"))) == 401);
  CHECK(status("/events?channel=orders",
               sign(R"({"alg":["HS256"]})", claims(60, R"(["orders"])", "read"))) == 401);
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

TEST_CASE("token auth: tampered claims, missing exp and near-miss channels are refused",
          "[bridge][auth][security]") {
  BridgeProcess bridge({}, {{"SSEBRIDGE_AUTH_SECRET", kSecret}});
  const auto status = [&](const std::string& target, const std::string& token) {
    SseSocket s(bridge.port(), target, {{"Authorization", "Bearer " + token}});
    return s.status();
  };
  const std::string valid = sign(kHs256, claims(60, R"(["orders","user.42.*"])", "read"));
  const std::size_t dot1 = valid.find('.');
  const std::size_t dot2 = valid.rfind('.');
  REQUIRE(status("/events?channel=orders", valid) == 200);

  // The signature of `valid` on other claims: wider channels and scope, or a later expiry.
  const std::string wider_claims = base64url(claims(60, R"(["*"])", "read publish"));
  CHECK(status("/events?channel=invoices",
               valid.substr(0, dot1 + 1) + wider_claims + valid.substr(dot2)) == 401);
  const std::string later_claims = base64url(claims(86400, R"(["orders","user.42.*"])", "read"));
  CHECK(status("/events?channel=orders",
               valid.substr(0, dot1 + 1) + later_claims + valid.substr(dot2)) == 401);
  // ... or on another header.
  CHECK(status("/events?channel=orders",
               base64url(R"({"alg":"HS256","typ":"JWT","kid":"x"})") + valid.substr(dot1)) == 401);
  // The signature alone, or the token without it.
  CHECK(status("/events?channel=orders", valid.substr(0, dot2)) == 401);
  CHECK(status("/events?channel=orders", valid.substr(0, dot2 + 1)) == 401);
  // Signed, but with no expiry: a token that never expires is not accepted.
  CHECK(status("/events?channel=orders",
               sign(kHs256, R"({"channels":["orders"],"scope":"read"})")) == 401);

  // "user.42.*" is every channel under "user.42.", and nothing that merely starts alike.
  CHECK(status("/events?channel=user.42.inbox", valid) == 200);
  CHECK(status("/events?channel=user.420", valid) == 403);
  CHECK(status("/events?channel=user.42", valid) == 403);
  CHECK(status("/events?channel=orders.eu", valid) == 403);
}

TEST_CASE("token auth: a refused token is refused the same in a cookie or the query",
          "[bridge][auth][security]") {
  BridgeProcess bridge({}, {{"SSEBRIDGE_AUTH_SECRET", kSecret}});
  const std::string expired = sign(kHs256, claims(-5, R"(["orders"])", "read"));
  const std::string tampered = sign(kHs256, claims(60, R"(["orders"])", "read"), "wrong-secret");
  const std::string elsewhere = sign(kHs256, claims(60, R"(["invoices"])", "read"));
  const std::string publisher = mint({"token", "--channels", "orders", "--scope", "publish"});
  const std::string reader = mint({"token", "--channels", "orders"});

  const auto by_cookie = [&](const std::string& token) {
    SseSocket s(bridge.port(), "/events?channel=orders", {{"Cookie", "ssekit_token=" + token}});
    return s.status();
  };
  const auto by_query = [&](const std::string& token) {
    SseSocket s(bridge.port(), "/events?channel=orders&token=" + token);
    return s.status();
  };
  const std::vector<std::function<int(const std::string&)>> carriers = {by_cookie, by_query};
  for (const auto& carried : carriers) {
    CHECK(carried(expired) == 401);
    CHECK(carried(tampered) == 401);
    CHECK(carried(elsewhere) == 403);
    CHECK(carried(publisher) == 403);  // publish-only: it cannot read
    CHECK(carried(reader) == 200);
  }

  // A read token cannot publish, however it is carried; a publish token can.
  httplib::Client http("127.0.0.1", bridge.port());
  const auto post = [&](const std::string& target, const httplib::Headers& headers) {
    const auto res = http.Post(target.c_str(), headers, "x", "text/plain");
    return res ? res->status : -1;
  };
  CHECK(post("/events?channel=orders", {{"Cookie", "ssekit_token=" + reader}}) == 403);
  CHECK(post("/events?channel=orders&token=" + reader, {}) == 403);
  CHECK(post("/events?channel=orders&token=" + expired, {}) == 401);
  CHECK(post("/events?channel=orders&token=" + publisher, {}) == 200);
}

TEST_CASE("token auth: a verbose bridge logs no token, valid or refused, however carried",
          "[bridge][auth][security]") {
  BridgeProcess bridge({"--verbose"}, {{"SSEBRIDGE_AUTH_SECRET", kSecret}});
  const std::string reader = mint({"token", "--channels", "orders"});
  const std::string publisher = mint({"token", "--channels", "orders", "--scope", "publish"});
  const std::string expired = sign(kHs256, claims(-5, R"(["orders"])", "read"));
  const std::string tampered = sign(kHs256, claims(60, R"(["*"])", "read"), "wrong-secret");
  const std::vector<std::string> tokens = {reader, publisher, expired, tampered};

  // Refusals, with the bodies the bridge answers them with.
  std::vector<std::string> texts;
  httplib::Client http("127.0.0.1", bridge.port());
  const auto refused = [&](const std::string& target, const httplib::Headers& headers) {
    const auto res = http.Get(target.c_str(), headers);
    REQUIRE(res);
    CHECK(res->status >= 400);
    texts.push_back(res->body);
  };
  refused("/events?channel=orders&token=" + expired, {});
  refused("/events?channel=orders", {{"Cookie", "ssekit_token=" + tampered}});
  refused("/events?channel=invoices", {{"Authorization", "Bearer " + reader}});
  refused("/events?channel=orders", {{"Authorization", "Bearer " + publisher}});
  const auto post = http.Post("/events?channel=orders&token=" + reader, "x", "text/plain");
  REQUIRE(post);
  CHECK(post->status == 403);
  texts.push_back(post->body);

  // Streams that open, one per carrier, and an event published to them with a token.
  {
    SseSocket bearer(bridge.port(), "/events?channel=orders",
                     {{"Authorization", "Bearer " + reader}});
    SseSocket cookie(bridge.port(), "/events?channel=orders",
                     {{"Cookie", "ssekit_token=" + reader}});
    SseSocket query(bridge.port(), "/events?channel=orders&token=" + reader);
    REQUIRE(bearer.status() == 200);
    REQUIRE(cookie.status() == 200);
    REQUIRE(query.status() == 200);
    REQUIRE(publish(bridge.port(), "orders", "paid", "message",
                    {{"Authorization", "Bearer " + publisher}}) > 0);
    REQUIRE(query.next_event(5s));
  }
  REQUIRE(bridge.wait_for_log("stream closed", 10s));  // verbose lines are there to search
  REQUIRE(bridge.stop() == 0);

  texts.push_back(bridge.log());
  for (const auto& text : texts) {
    CAPTURE(text);
    CHECK(text.find(kSecret) == std::string::npos);
    for (const auto& token : tokens) {
      // The signature is the part no one but the holder knows; the payload is only base64.
      CHECK(text.find(token.substr(token.rfind('.') + 1)) == std::string::npos);
    }
  }
  CHECK_THAT(bridge.log(), Catch::Contains("stream opened"));
}
