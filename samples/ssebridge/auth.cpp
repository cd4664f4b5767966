#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>

#include <nlohmann/json.hpp>

namespace ssebridge {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The longest token looked at: a token listing many channels is still far below it.
constexpr size_t kMaxTokenLength = 8192;

std::string hmac_sha256(const std::string& key, const std::string& message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Authenticator::Verdict invalid(std::string reason) {
  Authenticator::Verdict verdict;
  verdict.kind = Authenticator::Verdict::Kind::invalid;
  verdict.reason = std::move(reason);
  return verdict;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Reads the claims of a verified payload; false when one is missing or mistyped.
bool read_claims(const nlohmann::json& payload, TokenClaims& claims, std::string& reason) {
  if (!payload.is_object()) {
    reason = "token payload is not a JSON object";
    return false;
  }
  const auto exp = payload.find("exp");
  if (exp == payload.end() || !exp->is_number()) {
    reason = "token has no exp claim";
    return false;
  }
  // JWT's NumericDate may be fractional or huge; converting a double outside int64's range
  // is undefined behaviour, so such a claim is refused rather than cast.
  constexpr double kInt64Bound = 9.2e18;  // just inside int64's range (about 9.22e18)
  if (!(std::fabs(exp->get<double>()) < kInt64Bound)) {
    reason = "token exp claim is out of range";
    return false;
  }
  claims.expires_at = exp->is_number_float() ? static_cast<std::int64_t>(exp->get<double>())
                                             : exp->get<std::int64_t>();
  const auto channels = payload.find("channels");
  if (channels == payload.end() || !channels->is_array()) {
    reason = "token has no channels claim";
    return false;
  }
  for (const auto& c : *channels) {
    if (!c.is_string()) {
      reason = "token channels claim holds a non-string";
      return false;
    }
    claims.channels.push_back(c.get<std::string>());
  }
  std::string scope = "read";
  if (const auto s = payload.find("scope"); s != payload.end()) {
    if (!s->is_string()) {
      reason = "token scope claim is not a string";
      return false;
    }
    scope = s->get<std::string>();
  }
  size_t start = 0;
  while (start <= scope.size()) {
    const size_t end = std::min(scope.find(' ', start), scope.size());
    const std::string word = scope.substr(start, end - start);
    claims.read |= word == "read";
    claims.publish |= word == "publish";
    start = end + 1;
  }
  return true;
}

}  // namespace

bool TokenClaims::allows(const std::string& channel) const {
  for (const auto& pattern : channels) {
    if (pattern == channel) return true;
    if (!pattern.empty() && pattern.back() == '*' &&
        channel.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0) {
      return true;
    }
  }
  return false;
}

std::string base64url_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
  return out;
}

bool base64url_decode(const std::string& text, std::string& out) {
  out.clear();
  // Padding, if any, is one or two '=' at the very end: nothing may follow it.
  const size_t padding = std::min(text.find('='), text.size());
  if (text.size() - padding > 2 || text.find_first_not_of('=', padding) != std::string::npos) {
    return false;
  }
  std::uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < padding; ++i) {
    const char* p = std::char_traits<char>::find(kAlphabet, 64, text[i]);
    if (p == nullptr) return false;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  // One spelling per byte string (RFC 4648 section 3.5): a lone last character carries no
  // whole byte, and the bits left below the last byte must be zero. Otherwise a token could
  // be altered in its last character and still verify.
  return bits < 6 && (buffer & ((1u << bits) - 1)) == 0;
}

Authenticator::Authenticator(std::string secret, std::string cookie)
    : secret_(std::move(secret)), cookie_(std::move(cookie)) {}

std::string Authenticator::mint(const TokenClaims& claims) const {
  nlohmann::json payload;
  payload["exp"] = claims.expires_at;
  payload["channels"] = claims.channels;
  std::string scope;
  if (claims.read) scope = "read";
  if (claims.publish) scope += scope.empty() ? "publish" : " publish";
  payload["scope"] = scope;
  const std::string signing_input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(payload.dump());
  return signing_input + "." + base64url_encode(hmac_sha256(secret_, signing_input));
}

Authenticator::Verdict Authenticator::verify(const std::string& token) const {
  if (token.size() > kMaxTokenLength) return invalid("token is too long");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string::npos || token.find('.', dot2 + 1) != std::string::npos) {
    return invalid("token is not a JWT (header.payload.signature)");
  }

  // The signature first: nothing of an unsigned token is parsed.
  std::string signature;
  if (!base64url_decode(token.substr(dot2 + 1), signature)) return invalid("token is malformed");
  const std::string expected = hmac_sha256(secret_, token.substr(0, dot2));
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return invalid("token signature does not match");
  }

  std::string header_text;
  std::string payload_text;
  if (!base64url_decode(token.substr(0, dot1), header_text) ||
      !base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_text)) {
    return invalid("token is malformed");
  }
  // json::value() throws when "alg" is there but not a string: look at the type first. find()
  // gives end() for anything that is not an object, a failed parse included.
  const auto header = nlohmann::json::parse(header_text, nullptr, false);
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
    return invalid("token algorithm is not HS256");
  }
  const auto payload = nlohmann::json::parse(payload_text, nullptr, false);
  Verdict verdict;
  try {
    if (!read_claims(payload, verdict.claims, verdict.reason)) return invalid(verdict.reason);
  } catch (const nlohmann::json::exception&) {
    return invalid("token claims are malformed");
  }
  if (verdict.claims.expires_at <= now_seconds()) return invalid("token has expired");
  verdict.kind = Verdict::Kind::ok;
  return verdict;
}

std::string Authenticator::find_token(const httplib::Request& req) const {
  const std::string authorization = req.get_header_value("Authorization");
  constexpr char kBearer[] = "Bearer ";
  if (authorization.size() > sizeof kBearer - 1 &&
      strncasecmp(authorization.c_str(), kBearer, sizeof kBearer - 1) == 0) {
    return trim(authorization.substr(sizeof kBearer - 1));
  }
  const std::string cookies = req.get_header_value("Cookie");
  size_t start = 0;
  while (start < cookies.size()) {
    const size_t end = std::min(cookies.find(';', start), cookies.size());
    const std::string pair = trim(cookies.substr(start, end - start));
    if (pair.size() > cookie_.size() && pair.compare(0, cookie_.size(), cookie_) == 0 &&
        pair[cookie_.size()] == '=') {
      return pair.substr(cookie_.size() + 1);
    }
    start = end + 1;
  }
  return req.get_param_value("token");
}

Authenticator::Verdict Authenticator::authenticate(const httplib::Request& req) const {
  const std::string token = find_token(req);
  if (token.empty()) {
    Verdict verdict;
    verdict.kind = Verdict::Kind::missing;
    verdict.reason = "a token is required (Authorization: Bearer, cookie " + cookie_ +
                     " or the token query parameter)";
    return verdict;
  }
  return verify(token);
}

}  // namespace ssebridge
