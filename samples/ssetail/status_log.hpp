// ssetail's messages on stderr: state changes, reconnect notices and the fatal error, each one
// line written with one write(2), with every known secret replaced by "[redacted]".
#pragma once

#include <string>
#include <vector>

#include "cli.hpp"

namespace ssetail {

class StatusLog {
 public:
  /// `secrets` are strings that must never be printed (tokens, cookies, header values).
  StatusLog(Verbosity verbosity, std::vector<std::string> secrets);

  /// A state change such as "open". Printed only with --verbose, after a UTC timestamp.
  void change(const std::string& text) const;

  /// Something a user watching the stream wants to know (a reconnect, a skipped event): with
  /// --verbose as a timestamped change, by default as "ssetail: text", never with --quiet.
  void notice(const std::string& text) const;

  /// The reason ssetail gives up: "ssetail: text", whatever the verbosity.
  void error(const std::string& text) const;

  /// A usage error found late (the client refused the URL): the error and the --help hint.
  void usage_error(const std::string& text) const;

  /// `text` with every secret replaced by "[redacted]".
  std::string redact(std::string text) const;

 private:
  void emit(std::string line) const;

  Verbosity verbosity_;
  std::vector<std::string> secrets_;
};

/// Every value of `options` that must not reach stderr: bearer token, cookies, query token and
/// the header values long enough to be credentials.
std::vector<std::string> secrets_of(const TailOptions& options);

}  // namespace ssetail
