// contract_service.hpp: the HTTP test service an external SSE conformance harness drives.
//
// It follows the protocol of LaunchDarkly's sse-contract-tests (docs/service_spec.md there):
//   GET /                 200 {"name", "capabilities"}
//   DELETE /              the service exits
//   POST /                create a client from JSON parameters; 201 + Location, or 400
//   POST /streams/{n}     {"command": "restart"} or {"command": "listen", ...}; 404 if unknown
//   DELETE /streams/{n}   close that client; 204, or 404 if unknown
// Each client reports to the harness through numbered callbacks (see callback_sender.hpp).
#pragma once

#include <httplib.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "stream_entity.hpp"

namespace ssekit::contract {

class ContractService {
 public:
  /// Prepares the routes; binds nothing yet.
  ContractService();
  /// Closes every client still open.
  ~ContractService();

  ContractService(const ContractService&) = delete;
  ContractService& operator=(const ContractService&) = delete;

  /// Binds `host`:`port`; port 0 takes a free one. Returns the bound port, or -1 when the
  /// address cannot be bound.
  int bind(const std::string& host, int port);

  /// Serves requests until DELETE / or stop(). False when serving failed.
  bool run();

  /// Makes run() return. Callable from any thread, a request handler included.
  void stop();

 private:
  void install_routes();
  void create_stream(const httplib::Request& request, httplib::Response& response);
  void send_command(const httplib::Request& request, httplib::Response& response);
  void close_stream(const httplib::Request& request, httplib::Response& response);
  std::string location_of(const httplib::Request& request, const std::string& id) const;

  httplib::Server server_;
  std::string host_;
  int port_ = 0;

  std::mutex mutex_;  // guards streams_ and created_
  // shared: a command may still hold an entity that a concurrent DELETE has removed
  std::map<std::string, std::shared_ptr<StreamEntity>> streams_;
  std::uint64_t created_ = 0;
};

}  // namespace ssekit::contract
