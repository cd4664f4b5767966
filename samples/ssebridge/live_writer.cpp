#include "live_writer.hpp"

#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>

#include "log.hpp"
#include "sse_writer.hpp"

namespace ssebridge {

using Clock = std::chrono::steady_clock;

namespace {

// Longest the loop sleeps, so heartbeats are at most this late.
constexpr std::chrono::milliseconds kTick{250};
constexpr int kMaxEpollEvents = 256;

}  // namespace

struct LiveWriter::Stream {
  int fd = -1;
  std::shared_ptr<Subscription> subscription;
  std::int64_t last_sent = 0;

  // Writer thread only.
  std::string out;                // framed bytes not yet sent
  size_t sent = 0;                // of `out`
  std::deque<size_t> event_ends;  // offsets in `out` where each unsent event ends
  bool waiting_writable = false;  // registered for EPOLLOUT
  Clock::time_point last_write = Clock::now();
  std::vector<EventPtr> batch;

  // Shared with the thread blocked in run().
  std::mutex mutex;
  std::condition_variable done_changed;
  bool done = false;
  bool queued = false;  // in ready_ (guarded by the writer's mutex_)
};

LiveWriter::LiveWriter(Metrics& metrics, std::chrono::milliseconds heartbeat, QueueLimits limits)
    : metrics_(metrics), heartbeat_(heartbeat), limits_(limits) {}

LiveWriter::~LiveWriter() {
  stop();
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool LiveWriter::start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) return false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) return false;
  thread_ = std::thread([this] { loop(); });
  return true;
}

void LiveWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake();
  if (thread_.joinable()) thread_.join();
}

void LiveWriter::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void LiveWriter::run(int fd, std::shared_ptr<Subscription> subscription, std::int64_t last_sent) {
  auto stream = std::make_shared<Stream>();
  stream->fd = fd;
  stream->subscription = std::move(subscription);
  stream->last_sent = last_sent;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    incoming_.push_back(stream);
  }
  wake();
  std::unique_lock<std::mutex> lock(stream->mutex);
  stream->done_changed.wait(lock, [&] { return stream->done; });
}

void LiveWriter::mark_ready(const std::shared_ptr<Stream>& stream) {
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stream->queued) return;
    stream->queued = true;
    first = ready_.empty();
    ready_.push_back(stream);
  }
  // One wake-up per burst: the hub marks a thousand streams ready for one event.
  if (first) wake();
}

void LiveWriter::loop() {
  std::vector<epoll_event> events(kMaxEpollEvents);
  auto next_heartbeat_check = Clock::now() + kTick;
  while (true) {
    const int n =
        epoll_wait(epoll_fd_, events.data(), kMaxEpollEvents, static_cast<int>(kTick.count()));
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<size_t>(i)].data.fd;
      if (fd == wake_fd_) {
        std::uint64_t count = 0;
        [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      const auto it = streams_.find(fd);
      if (it == streams_.end()) continue;
      const auto stream = it->second;
      if ((events[static_cast<size_t>(i)].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
        end(stream);  // the client hung up
      } else {
        flush(stream);
      }
    }

    std::vector<std::shared_ptr<Stream>> incoming;
    std::vector<std::shared_ptr<Stream>> ready;
    bool stopping = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      incoming.swap(incoming_);
      ready.swap(ready_);
      for (const auto& stream : ready)
        stream->queued = false;
      stopping = stopping_;
    }
    for (const auto& stream : incoming) {
      epoll_event ev{};
      ev.events = EPOLLRDHUP;
      ev.data.fd = stream->fd;
      if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stream->fd, &ev) != 0) {
        end(stream);
        continue;
      }
      streams_[stream->fd] = stream;
      std::weak_ptr<Stream> weak = stream;
      stream->subscription->set_ready_callback([this, weak] {
        if (auto s = weak.lock()) mark_ready(s);
      });
    }
    for (const auto& stream : ready) {
      if (streams_.count(stream->fd) != 0 && streams_[stream->fd] == stream) serve(stream);
    }

    if (stopping) {
      while (!streams_.empty()) {
        const auto stream = streams_.begin()->second;  // a copy: end() erases the map's
        end(stream);
      }
      return;
    }

    const auto now = Clock::now();
    if (heartbeat_.count() > 0 && now >= next_heartbeat_check) {
      next_heartbeat_check = now + kTick;
      std::vector<std::shared_ptr<Stream>> due;
      for (const auto& [fd, stream] : streams_) {
        if (now - stream->last_write >= heartbeat_ && stream->out.size() == stream->sent) {
          due.push_back(stream);
        }
      }
      for (const auto& stream : due) {
        std::string comment;
        append_comment(comment, "heartbeat");
        append_chunk(*stream, comment);
        flush(stream);
      }
    }
  }
}

void LiveWriter::append_chunk(Stream& stream, const std::string& payload) {
  if (stream.sent == stream.out.size()) {
    stream.out.clear();
    stream.sent = 0;
    stream.event_ends.clear();
  }
  char size[24];
  std::snprintf(size, sizeof size, "%zx\r\n", payload.size());
  stream.out += size;
  stream.out += payload;
  stream.out += "\r\n";
}

// Moves the subscription's queued events into the stream's chunks and sends what it can.
void LiveWriter::serve(const std::shared_ptr<Stream>& stream) {
  const auto wake = stream->subscription->take(stream->batch);
  std::string payload;
  size_t count = 0;
  for (const auto& event : stream->batch) {
    if (event->id <= stream->last_sent) continue;  // the replay's overlap
    payload += event->wire;
    stream->last_sent = event->id;
    ++count;
  }
  stream->batch.clear();
  if (count > 0) {
    append_chunk(*stream, payload);
    for (size_t i = 0; i < count; ++i)
      stream->event_ends.push_back(stream->out.size());
    metrics_.events_sent.fetch_add(count, std::memory_order_relaxed);
  }
  if (wake == Subscription::Wake::dropped || wake == Subscription::Wake::closed) {
    end(stream);
    return;
  }

  const size_t unsent = stream->out.size() - stream->sent;
  if (unsent > limits_.max_bytes || stream->event_ends.size() > limits_.max_events) {
    metrics_.slow_clients_dropped.fetch_add(1, std::memory_order_relaxed);
    log_warn("client " + stream->subscription->peer() + " dropped: its send queue is full (" +
             std::to_string(stream->event_ends.size()) + " events, " + std::to_string(unsent) +
             " bytes unsent); it will reconnect and replay what it missed");
    end(stream);
    return;
  }
  flush(stream);
}

void LiveWriter::flush(const std::shared_ptr<Stream>& stream) {
  while (stream->sent < stream->out.size()) {
    const ssize_t n = ::send(stream->fd, stream->out.data() + stream->sent,
                             stream->out.size() - stream->sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      stream->sent += static_cast<size_t>(n);
      stream->last_write = Clock::now();
      while (!stream->event_ends.empty() && stream->event_ends.front() <= stream->sent) {
        stream->event_ends.pop_front();
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!stream->waiting_writable) {
        epoll_event ev{};
        ev.events = EPOLLRDHUP | EPOLLOUT;
        ev.data.fd = stream->fd;
        epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, stream->fd, &ev);
        stream->waiting_writable = true;
      }
      return;
    }
    end(stream);  // the connection broke
    return;
  }
  if (stream->waiting_writable) {
    epoll_event ev{};
    ev.events = EPOLLRDHUP;
    ev.data.fd = stream->fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, stream->fd, &ev);
    stream->waiting_writable = false;
  }
}

void LiveWriter::end(const std::shared_ptr<Stream>& stream) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, stream->fd, nullptr);
  const auto it = streams_.find(stream->fd);
  if (it != streams_.end() && it->second == stream) streams_.erase(it);
  stream->subscription->set_ready_callback(nullptr);
  {
    std::lock_guard<std::mutex> lock(stream->mutex);
    stream->done = true;
  }
  stream->done_changed.notify_all();
}

int find_connection_socket(const std::string& remote_addr, int remote_port,
                           const std::string& local_addr, int local_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  const auto matches = [](const sockaddr_storage& addr, socklen_t length, const std::string& host,
                          int port) {
    // The port first: it rules out nearly every other socket without formatting an address.
    int actual = -1;
    if (addr.ss_family == AF_INET) {
      actual = ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
    } else if (addr.ss_family == AF_INET6) {
      actual = ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
    }
    if (actual != port) return false;
    char name[NI_MAXHOST];
    char service[NI_MAXSERV];
    return getnameinfo(reinterpret_cast<const sockaddr*>(&addr), length, name, sizeof name, service,
                       sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) == 0 &&
           std::atoi(service) == port && host == name;
  };
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const int fd = std::atoi(entry->d_name);
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0) continue;
    if (!matches(peer, peer_length, remote_addr, remote_port)) continue;
    sockaddr_storage local{};
    socklen_t local_length = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0) continue;
    if (matches(local, local_length, local_addr, local_port)) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

}  // namespace ssebridge
