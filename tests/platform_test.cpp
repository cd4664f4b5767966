// The SDK's platform seam (sdk/platform.hpp) as this build compiled it: libcurl's sockets are
// kept from child processes. Runs with either loop backend (SSEKIT_LOOP_BACKEND).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "ssekit/client.hpp"
#include "support/client_recorder.hpp"
#include "support/sse_test_server.hpp"

using ssekit::Client;
using ssekit::test::fast_options;
using ssekit::test::Recorder;
using ssekit::test::SseTestServer;
using ssekit::test::StreamWriter;

namespace {

// The descriptors of this process that are TCP sockets connected to 127.0.0.1:`port`: the
// client's side of its connections to a test server on that port.
std::vector<int> sockets_connected_to(int port) {
  std::vector<int> found;
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return found;
  while (const dirent* entry = readdir(fds)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    struct stat info {};
    if (fd == dirfd(fds) || fstat(fd, &info) != 0 || !S_ISSOCK(info.st_mode)) continue;

    sockaddr_in peer{};
    socklen_t size = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &size) != 0) continue;
    if (peer.sin_family == AF_INET && ntohs(peer.sin_port) == port) found.push_back(fd);
  }
  closedir(fds);
  return found;
}

}  // namespace

TEST_CASE("an open stream's connection is close-on-exec, so a child process cannot hold it open",
          "[platform]") {
  SseTestServer server;
  server.handle("/events", [&](const auto&, httplib::Response& response) {
    server.stream(response, [](StreamWriter& out) {
      out.write("data: one\n\n");
      out.stall();
    });
  });

  Recorder recorder;
  Client client(fast_options(server.url("/events")));
  recorder.attach(client);
  REQUIRE_FALSE(client.start());
  REQUIRE(recorder.wait_events(1));

  const auto sockets = sockets_connected_to(server.port());
  REQUIRE(sockets.size() == 1);
  const int flags = fcntl(sockets.front(), F_GETFD);
  REQUIRE(flags >= 0);
  CHECK((flags & FD_CLOEXEC) != 0);

  client.close();
}
