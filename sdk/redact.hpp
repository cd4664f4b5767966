// redact.hpp: the one place where text meant for people (log lines, error messages) is made safe.
//
// A Redactor knows the secrets of one client: the bearer token, the tokens its provider
// returned, cookies, the query token, the values of credential headers and a password in the
// URL. It builds the URL shown in logs and scrubs any other text (libcurl's error buffer, say)
// of those values before it leaves the library.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ssekit::detail {

/// What replaces a secret in text for people.
inline constexpr std::string_view kRedacted = "***";

class Redactor {
 public:
  /// Remembers `secret` so scrub() removes it. Empty and very short values (under 4 bytes,
  /// which would blank out ordinary words) are kept out of the list, not out of requests.
  void add_secret(std::string_view secret);

  /// `text` with every known secret replaced by kRedacted.
  std::string scrub(std::string_view text) const;

  /// `url` for display: a password in the user info and the value of every query parameter
  /// whose name looks like a credential (token, key, secret, password, auth, signature,
  /// session) or equals `query_token_name` replaced by kRedacted, then scrubbed.
  std::string display_url(std::string_view url, std::string_view query_token_name = {}) const;

 private:
  std::vector<std::string> secrets_;
};

/// True when a header of this name carries credentials: Authorization, Proxy-Authorization,
/// Cookie, and names that contain "token", "key", "secret", "auth", "session" or "password".
bool is_credential_header(std::string_view name);

/// ASCII case-insensitive equality, for header names and media types.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// True when `text` holds CR, LF or NUL: bytes that would let a value inject headers.
bool has_line_break_or_nul(std::string_view text) noexcept;

}  // namespace ssekit::detail
