// fault_proxy.cpp: the proxy's poll loop, its links, and what each fault does to them.
#include "soak/fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <random>
#include <stdexcept>

namespace ssekit::soak {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A drip tick forwards this many bytes to a consumer: an event of about 60 bytes then takes
// a fifth of a second, slow enough to split every line, fast enough that heartbeats still
// arrive well inside the consumers' watchdog.
constexpr std::size_t kDripBytes = 3;
constexpr milliseconds kDripTick{10};
// poll() wakes at least this often, so deadlines (drip ticks, stall holds, bursts, breaks that
// found no event) are met within this much.
constexpr int kPollSliceMs = 20;
// The largest request head read before answering 503; a consumer's GET is a few hundred bytes.
constexpr std::size_t kRequestHeadLimit = 16 * 1024;
// After the 503 answer the link waits this long for the consumer to close first, so that the
// consumer reads the whole answer before the socket goes.
constexpr milliseconds kRefusedLinger{2000};
// Unnoticed stalls described in the counters; the count covers the rest.
constexpr std::size_t kUnnoticedKept = 5;
// Bytes moved per read() call.
constexpr std::size_t kReadChunk = 16 * 1024;
// New links taken per loop turn, so a flood of connects cannot starve the open links.
constexpr int kAcceptsPerTurn = 32;

enum class Phase { connecting, open, stalled, refusing, answered };
enum class Break { none, reset, cut };

struct Link {
  int down = -1;  // the consumer's side
  int up = -1;    // the bridge's side
  Phase phase = Phase::connecting;
  std::string to_up;
  std::string to_down;
  bool up_ended = false;  // the bridge closed its side: close once to_down is out
  Break pending = Break::none;
  Clock::time_point break_by;
  bool break_ready = false;  // to_down ends at the break point: break once it is written
  bool mid_event = false;
  Clock::time_point since;  // when it stalled, or when it was answered 503
  Clock::time_point next_drip;
  bool finished = false;
  // For the description of a stall the consumer never noticed.
  Clock::time_point accepted_at = Clock::now();
  Clock::time_point last_down_at;
  std::uint64_t bytes_down = 0;
  std::uint64_t bytes_up = 0;
  std::string stalled_as;
};

void set_nodelay(int fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

// Closes `fd` with an RST instead of a FIN: SO_LINGER on with a zero timeout.
void close_with_reset(int fd) {
  if (fd < 0) return;
  linger abort_now{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
  close(fd);
}

void close_plain(int fd) {
  if (fd >= 0) close(fd);
}

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Where in `bytes` (freshly read from the bridge) to break a link so that the consumer gets
// part of an event: a position after the start of a `data:` line and before the blank line that
// would dispatch it. npos when `bytes` holds no event (a heartbeat, a chunk-size line).
std::size_t break_point(const std::string& bytes, std::mt19937_64& random) {
  const std::size_t data = bytes.find("data: ");
  if (data == std::string::npos) return std::string::npos;
  const std::size_t end = bytes.find("\n\n", data);
  // Up to and including the data line's own LF, never the LF that ends the event.
  const std::size_t last = end == std::string::npos ? bytes.size() : end + 1;
  return std::uniform_int_distribution<std::size_t>(data + 1, last)(random);
}

}  // namespace

struct FaultProxy::Loop {
  struct Command {
    enum class Kind { reset, cut, stall, drip, refuse } kind;
    milliseconds duration{0};
  };

  Loop(std::string proxy_name, int upstream, std::uint64_t seed, ProxyLimits proxy_limits)
      : name(std::move(proxy_name)), upstream_port(upstream), limits(proxy_limits), random(seed) {}

  ~Loop() {
    for (auto& link : links) {
      close_plain(link->down);
      close_plain(link->up);
    }
    close_plain(listener);
    close_plain(wake);
  }

  const std::string name;
  const int upstream_port;
  const ProxyLimits limits;
  std::mt19937_64 random;
  int listener = -1;
  int wake = -1;
  std::atomic<bool> stopping{false};

  std::mutex mutex;  // guards commands and counters
  std::deque<Command> commands;
  ProxyCounters counters;

  std::vector<std::unique_ptr<Link>> links;  // the loop thread's alone
  Clock::time_point drip_until;
  Clock::time_point refuse_until;

  void post(Command command) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      commands.push_back(command);
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(wake, &one, sizeof one);
  }

  template <class F>
  void count(F&& change) {
    std::lock_guard<std::mutex> lock(mutex);
    change(counters);
  }

  /// Runs until `stopping`: each turn applies the posted faults, waits for the sockets (at most
  /// kPollSliceMs), moves bytes, and enforces the deadlines.
  void run() {
    while (!stopping.load()) {
      apply_commands();

      std::vector<pollfd> fds;
      std::vector<std::pair<Link*, bool>> owners;  // (link, is the bridge's side)
      fds.push_back({listener, POLLIN, 0});
      fds.push_back({wake, POLLIN, 0});
      const auto now = Clock::now();
      for (auto& link : links) {
        fds.push_back({link->down, down_events(*link, now), 0});
        owners.emplace_back(link.get(), false);
        fds.push_back({link->up, up_events(*link), 0});
        owners.emplace_back(link.get(), true);
      }
      const int timeout = now < drip_until ? static_cast<int>(kDripTick.count()) : kPollSliceMs;
      if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;

      if (fds[1].revents & POLLIN) {
        std::uint64_t drained = 0;
        [[maybe_unused]] const ssize_t n = read(wake, &drained, sizeof drained);
      }
      if (fds[0].revents & POLLIN) accept_links();
      for (std::size_t i = 2; i < fds.size(); ++i) {
        Link& link = *owners[i - 2].first;
        if (link.finished || fds[i].revents == 0) continue;
        if (owners[i - 2].second) {
          serve_up(link, fds[i].revents);
        } else {
          serve_down(link, fds[i].revents);
        }
      }
      enforce_deadlines();
      links.erase(std::remove_if(links.begin(), links.end(),
                                 [](const std::unique_ptr<Link>& l) { return l->finished; }),
                  links.end());
    }
  }

  short down_events(const Link& link, Clock::time_point now) const {
    switch (link.phase) {
      case Phase::stalled:
      case Phase::refusing:
      case Phase::answered:
        return POLLIN;  // only to see the consumer leave (or read its request, when refusing)
      case Phase::connecting:
      case Phase::open:
        break;
    }
    short events = 0;
    if (link.to_up.size() < limits.buffer_bytes) events |= POLLIN;
    const bool dripping = now < drip_until;
    if (!link.to_down.empty() && (!dripping || now >= link.next_drip)) events |= POLLOUT;
    return events;
  }

  short up_events(const Link& link) const {
    if (link.up < 0) return 0;
    if (link.phase == Phase::connecting) return POLLOUT;
    if (link.phase != Phase::open) return 0;  // a stalled bridge side is left unread
    short events = 0;
    if (!link.up_ended && !link.break_ready && link.to_down.size() < limits.buffer_bytes) {
      events |= POLLIN;
    }
    if (!link.to_up.empty()) events |= POLLOUT;
    return events;
  }

  void apply_commands() {
    std::deque<Command> todo;
    {
      std::lock_guard<std::mutex> lock(mutex);
      todo.swap(commands);
    }
    const auto now = Clock::now();
    for (const Command& command : todo) {
      switch (command.kind) {
        case Command::Kind::reset:
        case Command::Kind::cut:
          arm_breaks(command.kind == Command::Kind::reset ? Break::reset : Break::cut, now);
          break;
        case Command::Kind::stall:
          stall_all(now);
          break;
        case Command::Kind::drip:
          drip_until = std::max(drip_until, now + command.duration);
          break;
        case Command::Kind::refuse:
          refuse_until = std::max(refuse_until, now + command.duration);
          for (auto& link : links) {
            if (link->phase == Phase::open || link->phase == Phase::connecting) {
              finish(*link, Break::reset);
            }
          }
          break;
      }
    }
  }

  void arm_breaks(Break kind, Clock::time_point now) {
    for (auto& link : links) {
      if (link->phase == Phase::connecting) {
        link->pending = kind;
        finish(*link, kind, true);
      } else if (link->phase == Phase::open && link->pending == Break::none) {
        link->pending = kind;
        link->break_by = now + limits.break_wait;
      }
    }
  }

  static std::string describe(const Link& link, Clock::time_point now) {
    auto ms = [&](Clock::time_point t) {
      return std::to_string(std::chrono::duration_cast<milliseconds>(now - t).count()) + " ms";
    };
    return std::string(link.phase == Phase::connecting ? "connecting" : "open") + " link, " +
           ms(link.accepted_at) + " old, " + std::to_string(link.bytes_up) + " bytes up, " +
           std::to_string(link.bytes_down) + " bytes down, the last " +
           (link.bytes_down == 0 ? std::string("never") : ms(link.last_down_at) + " ago");
  }

  void stall_all(Clock::time_point now) {
    std::uint64_t frozen = 0;
    for (auto& link : links) {
      if (link->phase != Phase::open && link->phase != Phase::connecting) continue;
      link->stalled_as = describe(*link, now);
      link->phase = Phase::stalled;
      link->since = now;
      link->pending = Break::none;
      ++frozen;
    }
    count([&](ProxyCounters& c) { c.stalled += frozen; });
  }

  void accept_links() {
    for (int i = 0; i < kAcceptsPerTurn; ++i) {
      const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      set_nodelay(fd);
      auto link = std::make_unique<Link>();
      link->down = fd;
      count([](ProxyCounters& c) { ++c.links; });
      const auto now = Clock::now();
      if (now < refuse_until) {
        link->phase = Phase::refusing;
        link->since = now;
      } else {
        connect_up(*link);
      }
      links.push_back(std::move(link));
    }
  }

  void connect_up(Link& link) {
    link.up = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    set_nodelay(link.up);
    const sockaddr_in addr = loopback(upstream_port);
    const int r = connect(link.up, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    if (r == 0) {
      link.phase = Phase::open;
    } else if (errno == EINPROGRESS) {
      link.phase = Phase::connecting;
    } else {
      refuse_upstream(link);
    }
  }

  // The bridge is not listening: the consumer sees its connection reset, as without a proxy.
  void refuse_upstream(Link& link) {
    count([](ProxyCounters& c) { ++c.upstream_refused; });
    finish(link, Break::reset);
  }

  void serve_up(Link& link, short revents) {
    if (link.phase == Phase::connecting) {
      int error = 0;
      socklen_t length = sizeof error;
      getsockopt(link.up, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0 || (revents & (POLLERR | POLLHUP))) {
        refuse_upstream(link);
      } else {
        link.phase = Phase::open;
      }
      return;
    }
    if (revents & POLLOUT) {
      const std::size_t before = link.to_up.size();
      if (!write_some(link.up, link.to_up, link.to_up.size())) {
        finish(link, Break::reset);
        return;
      }
      link.bytes_up += before - link.to_up.size();
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) read_up(link);
  }

  void read_up(Link& link) {
    char buffer[kReadChunk];
    const std::size_t room =
        limits.buffer_bytes - std::min(limits.buffer_bytes, link.to_down.size());
    const ssize_t n = read(link.up, buffer, std::min(room, sizeof buffer));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {
      finish(link, Break::reset);  // the bridge's side was reset: pass that on
      return;
    }
    if (n == 0) {
      link.up_ended = true;
      if (link.to_down.empty()) finish(link, Break::cut);
      return;
    }
    std::string bytes(buffer, static_cast<std::size_t>(n));
    if (link.pending != Break::none) {
      const std::size_t at = break_point(bytes, random);
      if (at != std::string::npos) {
        bytes.resize(at);
        link.break_ready = true;
        link.mid_event = true;
      }
    }
    link.to_down += bytes;
    if (link.break_ready && link.to_down.empty()) finish(link, link.pending, true);
  }

  void serve_down(Link& link, short revents) {
    switch (link.phase) {
      case Phase::stalled:
        if (consumer_left(link)) {
          const auto held = std::chrono::duration_cast<milliseconds>(Clock::now() - link.since);
          count([&](ProxyCounters& c) {
            ++c.stalls_noticed;
            c.slowest_notice = std::max(c.slowest_notice, held);
          });
          finish(link, Break::cut);
        }
        return;
      case Phase::refusing:
        read_request_head(link);
        return;
      case Phase::answered:
        if (consumer_left(link)) finish(link, Break::cut);
        return;
      case Phase::connecting:
      case Phase::open:
        break;
    }
    if (revents & POLLOUT) write_down(link);
    if (link.finished) return;
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
      char buffer[kReadChunk];
      const std::size_t room =
          limits.buffer_bytes - std::min(limits.buffer_bytes, link.to_up.size());
      const ssize_t n = read(link.down, buffer, std::min(room, sizeof buffer));
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n <= 0) {
        finish(link, Break::cut);  // the consumer left
        return;
      }
      link.to_up.append(buffer, static_cast<std::size_t>(n));
    }
  }

  void write_down(Link& link) {
    const auto now = Clock::now();
    const bool dripping = now < drip_until;
    const std::size_t most = dripping ? kDripBytes : link.to_down.size();
    const std::size_t before = link.to_down.size();
    if (!write_some(link.down, link.to_down, most)) {
      finish(link, Break::reset);
      return;
    }
    if (link.to_down.size() != before) {
      link.bytes_down += before - link.to_down.size();
      link.last_down_at = now;
    }
    link.next_drip = now + kDripTick;
    if (!link.to_down.empty()) return;
    if (link.break_ready) {
      finish(link, link.pending, true);
    } else if (link.up_ended) {
      finish(link, Break::cut);
    }
  }

  // Reads what the consumer sent while it is held or refused; true when it closed its side.
  bool consumer_left(Link& link) {
    char buffer[4096];
    const ssize_t n = read(link.down, buffer, sizeof buffer);
    if (n < 0) return errno != EAGAIN && errno != EINTR;
    return n == 0;
  }

  void read_request_head(Link& link) {
    char buffer[4096];
    const ssize_t n = read(link.down, buffer, sizeof buffer);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      finish(link, Break::cut);
      return;
    }
    link.to_up.append(buffer, static_cast<std::size_t>(n));
    if (link.to_up.find("\r\n\r\n") == std::string::npos) {
      if (link.to_up.size() > kRequestHeadLimit) finish(link, Break::reset);
      return;
    }
    const std::string answer = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: " +
                               std::to_string(limits.retry_after_seconds) +
                               "\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n"
                               "Connection: close\r\n\r\nsoak: 503 burst\r\n\r\n";
    std::string out = answer;
    // The answer is far below a socket buffer: one write takes it all on a fresh link.
    write_some(link.down, out, out.size());
    shutdown(link.down, SHUT_WR);
    link.phase = Phase::answered;
    link.since = Clock::now();
    count([](ProxyCounters& c) { ++c.refused_503; });
  }

  // Writes up to `most` bytes from the front of `from`; false on a socket error.
  static bool write_some(int fd, std::string& from, std::size_t most) {
    const std::size_t size = std::min(most, from.size());
    if (size == 0) return true;
    const ssize_t n = send(fd, from.data(), size, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    from.erase(0, static_cast<std::size_t>(n));
    return true;
  }

  void enforce_deadlines() {
    const auto now = Clock::now();
    for (auto& link : links) {
      if (link->finished) continue;
      if (link->phase == Phase::stalled && now - link->since >= limits.stall_hold) {
        count([&](ProxyCounters& c) {
          ++c.stalls_unnoticed;
          if (c.unnoticed.size() < kUnnoticedKept) c.unnoticed.push_back(link->stalled_as);
        });
        finish(*link, Break::cut);
      } else if (link->phase == Phase::answered && now - link->since >= kRefusedLinger) {
        finish(*link, Break::cut);
      } else if (link->phase == Phase::refusing && now - link->since >= kRefusedLinger) {
        finish(*link, Break::reset);
      } else if (link->phase == Phase::open && link->pending != Break::none && !link->break_ready &&
                 now >= link->break_by) {
        finish(*link, link->pending, true);  // no event came along to break inside
      }
    }
  }

  /// Ends `link`: both sides reset (RST) or closed (FIN). Counts it when a reset or cut fault
  /// did it (`by_fault`).
  void finish(Link& link, Break how, bool by_fault = false) {
    if (link.finished) return;
    link.finished = true;
    if (by_fault) {
      const bool inside = link.break_ready && link.mid_event;
      count([&](ProxyCounters& c) {
        ++(how == Break::reset ? c.resets : c.cuts);
        if (inside) ++c.breaks_mid_event;
      });
    }
    if (how == Break::reset) {
      close_with_reset(link.down);
      close_with_reset(link.up);
    } else {
      close_plain(link.down);
      close_plain(link.up);
    }
    link.down = -1;
    link.up = -1;
  }
};

FaultProxy::FaultProxy(std::string name, int upstream_port, std::uint64_t seed, ProxyLimits limits)
    : name_(std::move(name)), loop_(std::make_unique<Loop>(name_, upstream_port, seed, limits)) {
  loop_->listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const sockaddr_in addr = loopback(0);
  if (loop_->listener < 0 ||
      bind(loop_->listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(loop_->listener, SOMAXCONN) != 0) {
    throw std::runtime_error("fault proxy " + name_ +
                             ": cannot listen on 127.0.0.1: " + std::strerror(errno));
  }
  sockaddr_in bound{};
  socklen_t length = sizeof bound;
  getsockname(loop_->listener, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.sin_port);
  loop_->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop_->wake < 0) throw std::runtime_error("fault proxy " + name_ + ": eventfd failed");
  thread_ = std::thread([this] { loop_->run(); });
}

FaultProxy::~FaultProxy() {
  loop_->stopping.store(true);
  loop_->post({Loop::Command::Kind::drip, milliseconds(0)});  // only to wake the loop
  if (thread_.joinable()) thread_.join();
}

void FaultProxy::reset_links() {
  loop_->post({Loop::Command::Kind::reset, milliseconds(0)});
}

void FaultProxy::cut_links() {
  loop_->post({Loop::Command::Kind::cut, milliseconds(0)});
}

void FaultProxy::stall_links() {
  loop_->post({Loop::Command::Kind::stall, milliseconds(0)});
}

void FaultProxy::drip(std::chrono::milliseconds duration) {
  loop_->post({Loop::Command::Kind::drip, duration});
}

void FaultProxy::refuse(std::chrono::milliseconds duration) {
  loop_->post({Loop::Command::Kind::refuse, duration});
}

ProxyCounters FaultProxy::counters() const {
  std::lock_guard<std::mutex> lock(loop_->mutex);
  return loop_->counters;
}

}  // namespace ssekit::soak
