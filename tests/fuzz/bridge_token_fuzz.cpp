// bridge_token_fuzz: the bridge's HS256 token verifier (samples/ssebridge/auth.cpp) against
// arbitrary tokens, arbitrary signed claims and tampered copies of tokens it minted itself.
//
// Input layout: byte 0 picks the mode, the rest is its material.
//   mode 0  the rest is a token, verified as it came.
//   mode 1  the rest is "<header JSON>\n<payload JSON>", signed here with the test secret, so
//           the claim parsing behind the signature check is reached.
//   mode 2  the rest describes claims; the verifier mints a token, which must verify to the
//           same claims, and a copy with one character changed, which must not.
// Signatures are computed here with OpenSSL directly and base64url is encoded here too, so an
// accepted token is checked against an encoder and a MAC that are not the verifier's own.
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth.hpp"

namespace {

// At least 16 bytes, as the bridge demands of a secret.
const std::string kSecret = "fuzz-secret-0123456789abcdef";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// Tokens minted in mode 2 live between a minute (so none expires between minting and the
// checks) and about 19 hours, an ordinary int64 of seconds either way.
constexpr std::int64_t kMinLifetimeSeconds = 60;
constexpr std::int64_t kLifetimeSpread = 65536;

void require(bool condition) {
  if (!condition) std::abort();
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Canonical base64url without padding: every input has exactly one such spelling.
std::string encode(const std::string& bytes) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                                (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                                std::uint8_t(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6)
      out += kBase64Url[(group >> shift) & 0x3F];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  std::uint32_t group = std::uint32_t(std::uint8_t(bytes[i])) << 16;
  if (rest == 2) group |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
  out += kBase64Url[(group >> 18) & 0x3F];
  out += kBase64Url[(group >> 12) & 0x3F];
  if (rest == 2) out += kBase64Url[(group >> 6) & 0x3F];
  return out;
}

std::string mac(const std::string& message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string sign(const std::string& header, const std::string& payload) {
  const std::string signing_input = encode(header) + "." + encode(payload);
  return signing_input + "." + encode(mac(signing_input));
}

bool is_base64url(const std::string& text) {
  return text.find_first_not_of(kBase64Url) == std::string::npos;
}

// What every refusal owes the client: a reason, on one printable line, that quotes nothing of
// the token (a credential). Checked on runs of 12 base64url characters, the stuff of a token's
// segments: the verifier's fixed wording has no such run (its words are shorter), though the
// fuzzer may well copy that wording into a token.
void check_refusal(const ssebridge::Authenticator::Verdict& verdict, const std::string& token) {
  require(verdict.kind == ssebridge::Authenticator::Verdict::Kind::invalid);
  require(!verdict.reason.empty());
  for (char c : verdict.reason)
    require(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  constexpr size_t kQuotable = 12;
  for (size_t at = 0; at + kQuotable <= token.size(); ++at) {
    const std::string window = token.substr(at, kQuotable);
    if (is_base64url(window)) require(verdict.reason.find(window) == std::string::npos);
  }
}

// An accepted token: three segments, the third the canonical encoding of the HMAC of the
// first two under the test secret, a HS256 header, and claims that are the payload's own.
void check_acceptance(const ssebridge::Authenticator::Verdict& verdict, const std::string& token) {
  require(verdict.reason.empty());
  const size_t dot1 = token.find('.');
  require(dot1 != std::string::npos);
  const size_t dot2 = token.find('.', dot1 + 1);
  require(dot2 != std::string::npos && token.find('.', dot2 + 1) == std::string::npos);
  require(token.substr(dot2 + 1) == encode(mac(token.substr(0, dot2))));

  std::string header_text;
  std::string payload_text;
  require(ssebridge::base64url_decode(token.substr(0, dot1), header_text));
  require(ssebridge::base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_text));
  const auto header = nlohmann::json::parse(header_text, nullptr, false);
  require(header.is_object() && header.value("alg", "") == "HS256");
  const auto payload = nlohmann::json::parse(payload_text, nullptr, false);
  require(payload.is_object());

  // JWT's NumericDate may have a fraction; the claim keeps the whole seconds.
  const auto& exp = payload.at("exp");
  require(exp.is_number());
  if (exp.is_number_integer()) {
    require(exp.get<std::int64_t>() == verdict.claims.expires_at);
  } else {
    require(std::fabs(exp.get<double>() - static_cast<double>(verdict.claims.expires_at)) < 1.0);
  }
  require(verdict.claims.expires_at > now_seconds());
  require(payload.at("channels").get<std::vector<std::string>>() == verdict.claims.channels);

  std::string scope = payload.value("scope", std::string("read"));
  scope = " " + scope + " ";
  require(verdict.claims.read == (scope.find(" read ") != std::string::npos));
  require(verdict.claims.publish == (scope.find(" publish ") != std::string::npos));
  for (const auto& pattern : verdict.claims.channels)
    require(verdict.claims.allows(pattern));
}

void check_verdict(const ssebridge::Authenticator& auth, const std::string& token) {
  const auto verdict = auth.verify(token);
  if (verdict.kind == ssebridge::Authenticator::Verdict::Kind::ok) {
    check_acceptance(verdict, token);
  } else {
    check_refusal(verdict, token);
  }
}

// Claims from bytes: channel patterns split at ',', printable ASCII only (what a command line
// or JWT library would carry), a lifetime and the scopes from the first bytes.
ssebridge::TokenClaims claims_of(const std::string& material) {
  ssebridge::TokenClaims claims;
  if (material.size() < 3) return claims;
  const std::int64_t spread = std::uint8_t(material[0]) << 8 | std::uint8_t(material[1]);
  claims.expires_at = now_seconds() + kMinLifetimeSeconds + spread % kLifetimeSpread;
  claims.read = (material[2] & 1) != 0;
  claims.publish = (material[2] & 2) != 0;
  std::string pattern;
  for (size_t i = 3; i <= material.size(); ++i) {
    if (i == material.size() || material[i] == ',') {
      claims.channels.push_back(pattern);
      pattern.clear();
    } else {
      pattern += static_cast<char>(0x20 + std::uint8_t(material[i]) % 0x5f);
    }
  }
  return claims;
}

// A minted token verifies to its claims; any one character replaced by another from the
// token alphabet (or a dot) makes it invalid.
void check_round_trip(const ssebridge::Authenticator& auth, const std::string& material) {
  const ssebridge::TokenClaims claims = claims_of(material);
  if (claims.channels.empty()) return;
  const std::string token = auth.mint(claims);
  const auto verdict = auth.verify(token);
  require(verdict.kind == ssebridge::Authenticator::Verdict::Kind::ok);
  check_acceptance(verdict, token);
  require(verdict.claims.expires_at == claims.expires_at);
  require(verdict.claims.channels == claims.channels);
  require(verdict.claims.read == claims.read && verdict.claims.publish == claims.publish);

  const size_t at = (std::uint8_t(material[0]) * 131u + std::uint8_t(material[1])) % token.size();
  std::string tampered = token;
  const char* alphabet_end = kBase64Url + sizeof kBase64Url - 1;
  const char* position = std::find(kBase64Url, alphabet_end, token[at]);
  tampered[at] =
      position == alphabet_end ? 'A' : *(position + 1 == alphabet_end ? kBase64Url : position + 1);
  check_refusal(auth.verify(tampered), tampered);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const ssebridge::Authenticator auth(kSecret, "ssekit_token");
  const std::string material(reinterpret_cast<const char*>(data + 1), size - 1);

  switch (data[0] % 3) {
    case 0:
      check_verdict(auth, material);
      break;
    case 1: {
      const size_t newline = material.find('\n');
      if (newline == std::string::npos) return 0;
      check_verdict(auth, sign(material.substr(0, newline), material.substr(newline + 1)));
      break;
    }
    default:
      check_round_trip(auth, material);
      break;
  }
  return 0;
}
