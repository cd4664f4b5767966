// main.cpp: contract_service, the test service for external SSE conformance harnesses.
//
// Usage: contract_service [--port N] [--host ADDRESS]
// Listens on ADDRESS:N (default 127.0.0.1:8000; port 0 picks a free one) and prints
// "contract_service listening on http://ADDRESS:PORT" on stdout once it accepts requests.
// Exit status: 0 after DELETE /, 1 when the address cannot be bound or serving fails, 2 for a
// bad command line.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "contract_service.hpp"

namespace {

/// The port when none is given: what the harness's examples use for their test services.
constexpr int kDefaultPort = 8000;
constexpr int kMaxPort = 65535;

constexpr int kExitBind = 1;
constexpr int kExitUsage = 2;

int usage(const char* why) {
  std::cerr << "contract_service: " << why
            << "\nusage: contract_service [--port N] [--host ADDRESS]\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = kDefaultPort;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--port" || arg == "--host") && i + 1 >= argc) return usage("missing value");
    if (arg == "--port") {
      char* end = nullptr;
      const long value = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || value < 0 || value > kMaxPort) return usage("bad port");
      port = static_cast<int>(value);
    } else if (arg == "--host") {
      host = argv[++i];
    } else {
      return usage("unknown argument");
    }
  }

  // A harness that hangs up while a callback is being written must cost an error, not the
  // process.
  std::signal(SIGPIPE, SIG_IGN);

  ssekit::contract::ContractService service;
  const int bound = service.bind(host, port);
  if (bound < 0) {
    std::cerr << "contract_service: cannot listen on " << host << ":" << port << '\n';
    return kExitBind;
  }
  std::cout << "contract_service listening on http://" << host << ":" << bound << std::endl;
  return service.run() ? EXIT_SUCCESS : kExitBind;
}
