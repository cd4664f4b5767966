// idle_stream_server: the far end of the many-streams and reconnect-storm benchmarks. It answers
// every request on 127.0.0.1 with an endless text/event-stream that carries nothing but a
// heartbeat comment now and every --heartbeat-seconds after.
//
//   idle_stream_server [--port=0] [--heartbeat-seconds=15] [--lifetime-seconds=600]
//                      [--tls-cert=cert.pem --tls-key=key.pem --tls-streams=1000]
//
// Plain HTTP runs on one epoll thread: 10,000 streams need 10,000 sockets, not 10,000 threads.
// With --tls-cert it serves HTTPS through cpp-httplib's SSLServer instead, one pool thread per
// stream (a few hundred or a thousand streams). It prints "port N" on stdout once it listens,
// and exits after --lifetime-seconds at the latest (or when its parent dies), so a benchmark
// that crashes cannot leave it behind.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench_process.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Pending connections the kernel queues for accept(): the most Linux allows by default
// (net.core.somaxconn), so a burst of 10,000 connects is not dropped and retried a second later.
constexpr int kListenBacklog = 4096;

// Ready sockets taken per epoll_wait; the rest are simply handled on the next turn.
constexpr int kMaxEventsPerWait = 1024;

// A request head larger than this is not one of ours: the connection is dropped.
constexpr std::size_t kMaxRequestHead = 16 * 1024;

// A request head fits in one read of this size; the stream never sends more than that.
constexpr std::size_t kReadSize = 4096;

// The TLS server's threads wake this often to notice the end of their lifetime.
constexpr auto kTlsWakeInterval = std::chrono::milliseconds(200);

constexpr char kResponseHead[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n";

constexpr char kHeartbeat[] = ": heartbeat\n\n";

// kHeartbeat as one HTTP chunk (13 bytes = 0xd).
constexpr char kHeartbeatChunk[] = "d\r\n: heartbeat\n\n\r\n";
static_assert(sizeof kHeartbeat - 1 == 0xd, "the chunk size line must match the heartbeat");

struct Connection {
  std::string request;
  bool streaming = false;
};

// Writes all of `bytes` to a non-blocking socket that has room (a fresh or idle one always
// has). False when the socket is gone or full: the caller drops the connection.
bool send_all(int fd, const char* bytes, std::size_t size) {
  const ssize_t sent = ::send(fd, bytes, size, MSG_NOSIGNAL);
  return sent == static_cast<ssize_t>(size);
}

int listen_on(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  // A restarted server (the reconnect storm) binds the port its predecessor's connections still
  // hold in TIME_WAIT.
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, kListenBacklog) != 0) {
    std::fprintf(stderr, "idle_stream_server: cannot listen on port %d: %s\n", port,
                 std::strerror(errno));
    std::exit(1);
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  std::printf("port %d\n", ntohs(address.sin_port));
  std::fflush(stdout);
  return fd;
}

class PlainServer {
 public:
  PlainServer(int port, std::chrono::seconds heartbeat) : heartbeat_(heartbeat) {
    listener_ = listen_on(port);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    watch(listener_);
  }

  // Serves until `until`.
  void run(Clock::time_point until) {
    auto next_heartbeat = Clock::now() + heartbeat_;
    std::array<epoll_event, kMaxEventsPerWait> events;
    while (Clock::now() < until) {
      const auto wake = std::min(until, next_heartbeat);
      // The cast truncates: one more millisecond wakes after the deadline, not just before it.
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now());
      const int ready = ::epoll_wait(epoll_fd_, events.data(), kMaxEventsPerWait,
                                     static_cast<int>(std::max<long long>(wait.count(), 0)) + 1);
      for (int i = 0; i < ready; ++i) {
        if (events[i].data.fd == listener_) {
          accept_all();
        } else {
          read_from(events[i].data.fd);
        }
      }
      if (Clock::now() >= next_heartbeat) {
        beat();
        next_heartbeat += heartbeat_;
      }
    }
  }

 private:
  void watch(int fd) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }

  void drop(int fd) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    connections_.erase(fd);
  }

  void accept_all() {
    while (true) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN: the queue is empty (or EMFILE: the rest wait)
      connections_.emplace(fd, Connection{});
      watch(fd);
    }
  }

  // Reads a request head and answers it with the stream head and a first heartbeat; after
  // that, reads only to notice the client leaving.
  void read_from(int fd) {
    char buffer[kReadSize];
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
      drop(fd);
      return;
    }
    if (got < 0) return;
    Connection& connection = connections_[fd];
    if (connection.streaming) return;
    connection.request.append(buffer, static_cast<std::size_t>(got));
    if (connection.request.find("\r\n\r\n") == std::string::npos) {
      if (connection.request.size() > kMaxRequestHead) drop(fd);
      return;
    }
    connection.streaming = true;
    connection.request = std::string();  // give the memory back
    std::string answer = kResponseHead;
    answer += kHeartbeatChunk;
    if (!send_all(fd, answer.data(), answer.size())) drop(fd);
  }

  void beat() {
    std::vector<int> gone;
    for (const auto& [fd, connection] : connections_) {
      if (connection.streaming && !send_all(fd, kHeartbeatChunk, sizeof kHeartbeatChunk - 1)) {
        gone.push_back(fd);
      }
    }
    for (int fd : gone)
      drop(fd);
  }

  std::chrono::seconds heartbeat_;
  int listener_ = -1;
  int epoll_fd_ = -1;
  std::unordered_map<int, Connection> connections_;
};

// HTTPS: cpp-httplib's SSLServer with a pool of `streams` threads, each holding one stream.
int serve_tls(int port, std::chrono::seconds heartbeat, Clock::time_point until,
              const std::string& cert, const std::string& key, std::size_t streams) {
  httplib::SSLServer server(cert.c_str(), key.c_str());
  if (!server.is_valid()) {
    std::fprintf(stderr, "idle_stream_server: cannot load %s / %s\n", cert.c_str(), key.c_str());
    return 1;
  }
  // Each stream holds a pool thread for its whole life; a few more serve the stragglers.
  constexpr std::size_t kSpareThreads = 8;
  server.new_task_queue = [streams] { return new httplib::ThreadPool(streams + kSpareThreads); };
  std::atomic<bool> stopping{false};

  server.Get(".*", [&](const httplib::Request&, httplib::Response& response) {
    response.set_header("Cache-Control", "no-cache");
    response.set_chunked_content_provider(
        "text/event-stream",
        [&, next = Clock::time_point{}](std::size_t, httplib::DataSink& sink) mutable {
          while (Clock::now() < next) {
            if (stopping) return false;
            std::this_thread::sleep_for(kTlsWakeInterval);
          }
          next = Clock::now() + heartbeat;
          return sink.write(kHeartbeat, sizeof kHeartbeat - 1);
        });
  });

  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port <= 0) {
    std::fprintf(stderr, "idle_stream_server: cannot listen on 127.0.0.1\n");
    return 1;
  }
  std::thread lifetime([&] {
    while (Clock::now() < until && !stopping)
      std::this_thread::sleep_for(kTlsWakeInterval);
    stopping = true;
    server.stop();
  });
  std::printf("port %d\n", port);
  std::fflush(stdout);
  server.listen_after_bind();
  stopping = true;
  lifetime.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Die with the benchmark that started us, whatever way it ends.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGPIPE, SIG_IGN);

  ssekit::bench::Flags flags(argc, argv);
  const int port = static_cast<int>(flags.number("port", 0));
  const std::chrono::seconds heartbeat(static_cast<long>(flags.number("heartbeat-seconds", 15)));
  const std::chrono::seconds lifetime(static_cast<long>(flags.number("lifetime-seconds", 600)));
  const std::string cert = flags.text("tls-cert", "");
  const std::string key = flags.text("tls-key", "");
  const auto tls_streams = static_cast<std::size_t>(flags.number("tls-streams", 1000));
  if (!flags.unknown().empty()) {
    std::fprintf(stderr, "idle_stream_server: unknown flag --%s\n",
                 flags.unknown().front().c_str());
    return 2;
  }

  ssekit::bench::raise_open_file_limit();
  const auto until = Clock::now() + lifetime;
  if (!cert.empty()) return serve_tls(port, heartbeat, until, cert, key, tls_streams);

  PlainServer server(port, heartbeat);
  server.run(until);
  return 0;
}
