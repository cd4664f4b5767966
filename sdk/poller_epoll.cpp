// poller_epoll.cpp: the Linux poller. epoll watches exactly the sockets libcurl names through
// its socket callback, plus an eventfd that wake() rings; curl_multi_socket_action is then told
// about the ready sockets only, so the cost of a wake-up follows the ready streams, not the
// open ones. This is the only file in sdk/ that may use Linux or POSIX calls.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <stdexcept>

#include "platform.hpp"

namespace ssekit::detail {
namespace {

// Ready sockets taken from epoll per wake-up; more simply wait for the next one.
constexpr int kMaxEventsPerWait = 256;

class EpollPoller final : public Poller {
 public:
  using Clock = std::chrono::steady_clock;

  explicit EpollPoller(CURLM* multi);
  ~EpollPoller() override;

  EpollPoller(const EpollPoller&) = delete;
  EpollPoller& operator=(const EpollPoller&) = delete;

  void wait_and_drive(std::chrono::milliseconds longest) override;
  void wake() override;

 private:
  int wait_timeout_ms(std::chrono::milliseconds longest) const;
  void socket_action(curl_socket_t fd, int events);

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_data);
  static int on_curl_timer(CURLM* multi, long timeout_ms, void* self);

  CURLM* multi_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;

  // Loop thread only.
  int running_ = 0;
  bool curl_timer_armed_ = false;
  Clock::time_point curl_deadline_{};
};

EpollPoller::EpollPoller(CURLM* multi) : multi_(multi) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    if (wake_fd_ >= 0) close(wake_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    throw std::runtime_error("ssekit: cannot create the event loop (epoll, eventfd)");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);

  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &EpollPoller::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &EpollPoller::on_curl_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

EpollPoller::~EpollPoller() {
  close(wake_fd_);
  close(epoll_fd_);
}

void EpollPoller::wait_and_drive(std::chrono::milliseconds longest) {
  std::array<epoll_event, kMaxEventsPerWait> events;
  const int ready =
      epoll_wait(epoll_fd_, events.data(), kMaxEventsPerWait, wait_timeout_ms(longest));

  for (int i = 0; i < ready; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_fd_) {
      std::uint64_t count = 0;
      ssize_t got = read(wake_fd_, &count, sizeof count);
      (void)got;  // EAGAIN means another wake-up drained it first: nothing is lost
      continue;
    }
    int flags = 0;
    if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    socket_action(fd, flags);
  }

  if (curl_timer_armed_ && Clock::now() >= curl_deadline_) {
    curl_timer_armed_ = false;
    socket_action(CURL_SOCKET_TIMEOUT, 0);
  }
}

void EpollPoller::wake() {
  const std::uint64_t one = 1;
  ssize_t written = write(wake_fd_, &one, sizeof one);
  (void)written;  // EAGAIN means the counter is already non-zero: the loop wakes anyway
}

// The loop's own limit, shortened to libcurl's timer when that is due sooner. Rounded up:
// waking a little early would spin until the deadline.
int EpollPoller::wait_timeout_ms(std::chrono::milliseconds longest) const {
  auto wait = longest;
  if (curl_timer_armed_) {
    const auto now = Clock::now();
    if (curl_deadline_ <= now) return 0;
    wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(curl_deadline_ - now));
  }
  return static_cast<int>(wait.count());
}

void EpollPoller::socket_action(curl_socket_t fd, int events) {
  curl_multi_socket_action(multi_, fd, events, &running_);
}

int EpollPoller::on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* self,
                           void* /*socket_data*/) {
  auto* poller = static_cast<EpollPoller*>(self);
  if (what == CURL_POLL_REMOVE) {
    // Fails harmlessly when libcurl already closed the socket (epoll forgot it then).
    epoll_ctl(poller->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    return 0;
  }
  epoll_event event{};
  event.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  event.data.fd = fd;
  if (epoll_ctl(poller->epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0 && errno == ENOENT) {
    epoll_ctl(poller->epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }
  return 0;
}

int EpollPoller::on_curl_timer(CURLM* /*multi*/, long timeout_ms, void* self) {
  auto* poller = static_cast<EpollPoller*>(self);
  if (timeout_ms < 0) {
    poller->curl_timer_armed_ = false;
  } else {
    poller->curl_timer_armed_ = true;
    poller->curl_deadline_ = Clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  return 0;
}

}  // namespace

std::unique_ptr<Poller> make_poller(CURLM* multi) {
  return std::make_unique<EpollPoller>(multi);
}

}  // namespace ssekit::detail
