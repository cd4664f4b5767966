// tls_authority.cpp: the openssl commands behind TlsAuthority.
#include "nginx/tls_authority.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "nginx/child_process.hpp"

namespace ssekit::test {
namespace {

// Debian's openssl; an absolute path because the child is started with execv.
constexpr const char* kOpenssl = "/usr/bin/openssl";

// P-256 keys: generated in milliseconds, where RSA takes up to seconds on a loaded machine.
constexpr const char* kKeyAlgorithm = "ec";
constexpr const char* kKeyParameter = "ec_paramgen_curve:P-256";

// The certificates outlive any test by far, and expire soon after should a directory leak.
constexpr const char* kValidDays = "2";

// One openssl command on a loaded machine; it needs well under a second when idle.
constexpr std::chrono::seconds kCommandTimeout{30};

// Runs openssl with `args` in `dir`'s files; throws with its output when it fails.
void openssl(const std::string& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kOpenssl};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log = dir + "/openssl.log";
  if (run_program(argv, log, kCommandTimeout) != 0) {
    throw std::runtime_error("openssl " + args.front() + " failed:\n" + read_text_file(log));
  }
}

}  // namespace

TlsAuthority::TlsAuthority() {
  char pattern[] = "/tmp/ssekit-nginx-XXXXXX";
  const char* made = mkdtemp(pattern);
  if (made == nullptr) throw std::runtime_error("cannot make a temporary directory");
  dir_ = made;

  // The CA: self-signed, allowed to sign certificates and nothing else.
  openssl(dir_,
          {"req", "-x509", "-newkey", kKeyAlgorithm, "-pkeyopt", kKeyParameter, "-nodes", "-days",
           kValidDays, "-subj", "/CN=ssekit throwaway test CA", "-keyout", dir_ + "/ca.key", "-out",
           ca_file(), "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"});

  // The server's key and signing request, then the certificate the CA issues for it. A client
  // checks the subjectAltName, not the CN, so both names it may dial are listed there.
  openssl(dir_,
          {"req", "-new", "-newkey", kKeyAlgorithm, "-pkeyopt", kKeyParameter, "-nodes", "-subj",
           "/CN=127.0.0.1", "-keyout", server_key_file(), "-out", dir_ + "/server.csr"});
  const std::string extensions = dir_ + "/server.ext";
  std::ofstream(extensions) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                               "basicConstraints=CA:FALSE\n"
                               "extendedKeyUsage=serverAuth\n";
  openssl(dir_, {"x509", "-req", "-in", dir_ + "/server.csr", "-CA", ca_file(), "-CAkey",
                 dir_ + "/ca.key", "-CAcreateserial", "-days", kValidDays, "-extfile", extensions,
                 "-out", server_cert_file()});
}

TlsAuthority::~TlsAuthority() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace ssekit::test
