// tls_authority.hpp: a throwaway certificate authority and one server certificate it signed,
// made with the openssl command in a fresh temporary directory for one test.
//
//   ssekit::test::TlsAuthority authority;
//   options.tls.ca_file = authority.ca_file();   // trust only this CA
//   // nginx serves authority.server_cert_file() and authority.server_key_file()
#pragma once

#include <string>

namespace ssekit::test {

/// A CA certificate and a server certificate for 127.0.0.1 and localhost, signed by it. The
/// files live in a temporary directory that is removed with the object.
class TlsAuthority {
 public:
  /// Makes the directory, the CA and the server certificate. Throws std::runtime_error with
  /// openssl's output when any step fails (no openssl, a refused option, a timeout).
  TlsAuthority();
  ~TlsAuthority();

  TlsAuthority(const TlsAuthority&) = delete;
  TlsAuthority& operator=(const TlsAuthority&) = delete;

  /// The temporary directory; other throwaway files of the test may go here too.
  const std::string& dir() const { return dir_; }
  /// PEM certificate of the CA: what a client trusts.
  std::string ca_file() const { return dir_ + "/ca.pem"; }
  /// PEM certificate of the server, for IP 127.0.0.1 and DNS localhost.
  std::string server_cert_file() const { return dir_ + "/server.pem"; }
  /// PEM private key of the server certificate.
  std::string server_key_file() const { return dir_ + "/server.key"; }

 private:
  std::string dir_;
};

}  // namespace ssekit::test
