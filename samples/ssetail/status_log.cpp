// ssetail's stderr lines and their redaction.
#include "status_log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string_view>
#include <utility>

#include "output.hpp"

namespace ssetail {
namespace {

constexpr std::string_view kRedacted = "[redacted]";

/// Header values shorter than this are left alone: "1" or "gzip" are no credentials, and
/// replacing them would garble messages that happen to contain the same letters.
constexpr std::size_t kMinSecretHeaderBytes = 8;

}  // namespace

StatusLog::StatusLog(Verbosity verbosity, std::vector<std::string> secrets)
    : verbosity_(verbosity), secrets_(std::move(secrets)) {
  // Longest first, so a secret that contains another is replaced whole.
  secrets_.erase(std::remove(secrets_.begin(), secrets_.end(), std::string()), secrets_.end());
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void StatusLog::change(const std::string& text) const {
  if (verbosity_ != Verbosity::verbose) return;
  emit(utc_timestamp(std::chrono::system_clock::now()) + " " + text);
}

void StatusLog::notice(const std::string& text) const {
  if (verbosity_ == Verbosity::verbose) {
    change(text);
  } else if (verbosity_ == Verbosity::normal) {
    emit("ssetail: " + text);
  }
}

void StatusLog::error(const std::string& text) const {
  emit("ssetail: " + text);
}

void StatusLog::usage_error(const std::string& text) const {
  emit("ssetail: " + text);
  emit(kHelpHint);
}

std::string StatusLog::redact(std::string text) const {
  for (const std::string& secret : secrets_) {
    std::size_t at = 0;
    while ((at = text.find(secret, at)) != std::string::npos) {
      text.replace(at, secret.size(), kRedacted);
      at += kRedacted.size();
    }
  }
  return text;
}

void StatusLog::emit(std::string line) const {
  // One write per line: lines from the client's thread and the main thread never interleave.
  line = redact(std::move(line));
  line += '\n';
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t written = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return;  // stderr is gone: there is nowhere left to complain
    rest.remove_prefix(static_cast<std::size_t>(written));
  }
}

std::vector<std::string> secrets_of(const TailOptions& options) {
  std::vector<std::string> secrets{options.bearer_token, options.cookies};
  if (options.query_token) secrets.push_back(options.query_token->second);
  for (const auto& [name, value] : options.headers) {
    if (value.size() >= kMinSecretHeaderBytes) secrets.push_back(value);
  }
  return secrets;
}

}  // namespace ssetail
