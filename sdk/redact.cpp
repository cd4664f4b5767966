#include "redact.hpp"

#include <algorithm>
#include <cctype>

namespace ssekit::detail {
namespace {

// Secrets shorter than this are not scrubbed from free text: replacing every "ab" in an error
// message would garble it while protecting nothing worth protecting.
constexpr std::size_t kMinScrubbedSecret = 4;

char lower(char c) noexcept {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

// Query parameter names whose values are treated as credentials in displayed URLs.
bool is_credential_param(std::string_view name) {
  static constexpr std::string_view kWords[] = {"token", "key", "secret",  "password",
                                                "auth",  "sig", "session", "passwd"};
  return std::any_of(std::begin(kWords), std::end(kWords),
                     [&](std::string_view w) { return icontains(name, w); });
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool has_line_break_or_nul(std::string_view text) noexcept {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool is_credential_header(std::string_view name) {
  static constexpr std::string_view kWords[] = {"auth",   "cookie",  "token",   "key",
                                                "secret", "session", "password"};
  return std::any_of(std::begin(kWords), std::end(kWords),
                     [&](std::string_view w) { return icontains(name, w); });
}

void Redactor::add_secret(std::string_view secret) {
  if (secret.size() < kMinScrubbedSecret) return;
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  secrets_.emplace_back(secret);
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::scrub(std::string_view text) const {
  std::string out(text);
  for (const auto& secret : secrets_) {
    for (std::size_t at = out.find(secret); at != std::string::npos;
         at = out.find(secret, at + kRedacted.size())) {
      out.replace(at, secret.size(), kRedacted);
    }
  }
  return out;
}

std::string Redactor::display_url(std::string_view url, std::string_view query_token_name) const {
  std::string out;
  out.reserve(url.size());

  // scheme://[user[:password]@]host...
  std::size_t authority = url.find("://");
  authority = authority == std::string_view::npos ? 0 : authority + 3;
  const std::size_t authority_end = std::min(url.find_first_of("/?#", authority), url.size());
  const std::size_t at = url.rfind('@', authority_end);
  if (at != std::string_view::npos && at >= authority) {
    const std::size_t colon = url.find(':', authority);
    if (colon != std::string_view::npos && colon < at) {
      out.append(url.substr(0, colon + 1)).append(kRedacted);
      url.remove_prefix(at);
    }
  }

  const std::size_t query = url.find('?');
  if (query == std::string_view::npos) {
    out.append(url);
    return scrub(out);
  }
  const std::size_t fragment = std::min(url.find('#', query), url.size());
  out.append(url.substr(0, query + 1));

  std::string_view params = url.substr(query + 1, fragment - query - 1);
  bool first = true;
  while (!params.empty() || first) {
    const std::size_t amp = std::min(params.find('&'), params.size());
    const std::string_view param = params.substr(0, amp);
    params.remove_prefix(std::min(amp + 1, params.size()));
    if (!first) out.push_back('&');
    first = false;

    const std::size_t eq = param.find('=');
    const std::string_view name = param.substr(0, eq);
    if (eq != std::string_view::npos &&
        (is_credential_param(name) || (!query_token_name.empty() && name == query_token_name))) {
      out.append(name).push_back('=');
      out.append(kRedacted);
    } else {
      out.append(param);
    }
    if (params.empty()) break;
  }
  out.append(url.substr(fragment));
  return scrub(out);
}

}  // namespace ssekit::detail
