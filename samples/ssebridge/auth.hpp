// auth.hpp: bearer tokens for /events, as HS256 JSON Web Tokens.
//
// A token is a JWT signed with HMAC-SHA256 and the bridge's secret, so an app can mint one with
// any JWT library (or `ssebridge token`). Its claims:
//   exp       expiry, seconds since the epoch (required)
//   channels  array of channel patterns it may use: "orders" exactly, "orders.*" any channel
//             starting with "orders.", "*" any channel (required)
//   scope     space-separated: "read" to stream, "publish" to POST (default "read")
// A request carries it as `Authorization: Bearer <token>`, in a cookie (default name
// ssekit_token), or as the `token` query parameter (for EventSource, which cannot set headers).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <httplib.h>

namespace ssebridge {

struct TokenClaims {
  std::int64_t expires_at = 0;  ///< seconds since the epoch
  std::vector<std::string> channels;
  bool read = false;
  bool publish = false;

  /// Whether one of the channel patterns covers `channel`.
  bool allows(const std::string& channel) const;
};

class Authenticator {
 public:
  /// `secret` is the HMAC key; `cookie` the cookie name that may carry a token.
  Authenticator(std::string secret, std::string cookie);

  /// A signed token with `claims`.
  std::string mint(const TokenClaims& claims) const;

  struct Verdict {
    enum class Kind { ok, missing, invalid };
    Kind kind = Kind::missing;
    TokenClaims claims;
    /// For missing or invalid: why, safe to send back (it never quotes the token).
    std::string reason;
  };

  /// Finds the request's token and checks its signature and expiry.
  Verdict authenticate(const httplib::Request& req) const;

  /// Checks one token.
  Verdict verify(const std::string& token) const;

 private:
  std::string find_token(const httplib::Request& req) const;

  std::string secret_;
  std::string cookie_;
};

/// base64url without padding, as JWTs use it.
std::string base64url_encode(const std::string& bytes);
/// Decodes base64url with or without padding; false on any other character.
bool base64url_decode(const std::string& text, std::string& out);

}  // namespace ssebridge
