#include "ssekit/loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <string>

#include "loop_core.hpp"

namespace ssekit {
namespace detail {
namespace {

// Ready sockets taken from epoll per wake-up; more simply wait for the next one.
constexpr int kMaxEventsPerWait = 256;

// Upper bound on one wait even with nothing scheduled: a safety net, not a heartbeat.
constexpr int kMaxWaitMs = 60'000;

}  // namespace

void ensure_curl_initialized() {
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)result;
}

struct LoopCore::CurlCall {
  explicit CurlCall(LoopCore& core) : core_(core) { ++core_.in_curl_; }
  ~CurlCall() { --core_.in_curl_; }
  LoopCore& core_;
};

LoopCore::LoopCore() {
  ensure_curl_initialized();
  multi_ = curl_multi_init();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (multi_ == nullptr || epoll_fd_ < 0 || wake_fd_ < 0) {
    throw std::runtime_error("ssekit: cannot create the event loop (curl multi, epoll, eventfd)");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);

  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &LoopCore::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &LoopCore::on_curl_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // HTTP/2 streams to one origin share a connection (with CURLOPT_PIPEWAIT on each stream).
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
}

LoopCore::~LoopCore() {
  if (!on_loop_thread()) stop();
  // Whatever a client left behind (it should have removed its handle) must not outlive us.
  for (auto& [key, task] : timers_)
    task = nullptr;
  tasks_.clear();
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

bool LoopCore::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopped_) return false;
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  return true;
}

bool LoopCore::post(Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return false;
    tasks_.push_back(std::move(task));
  }
  if (!wake_pending_.exchange(true)) {
    const std::uint64_t one = 1;
    ssize_t written = write(wake_fd_, &one, sizeof one);
    (void)written;  // EAGAIN means the counter is already non-zero: the loop wakes anyway
  }
  return true;
}

void LoopCore::stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    thread = std::move(thread_);
  }
  stop_requested_ = true;
  const std::uint64_t one = 1;
  ssize_t written = write(wake_fd_, &one, sizeof one);
  (void)written;
  if (thread.joinable()) thread.join();
  std::vector<Task> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dropped.swap(tasks_);
  }
  // `dropped` dies here, on the caller's thread, releasing what the tasks held.
}

void LoopCore::stop_and_release_from_loop_thread() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopped_ = true;
  stop_requested_ = true;
  delete_on_exit_ = true;
  if (thread_.joinable()) thread_.detach();
}

void LoopCore::run() {
  thread_id_ = std::this_thread::get_id();
  while (!stop_requested_)
    step();
  thread_id_ = std::thread::id{};

  bool delete_self = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    delete_self = delete_on_exit_;
  }
  if (delete_self) delete this;
}

void LoopCore::step() {
  std::array<epoll_event, kMaxEventsPerWait> events;
  const int ready = epoll_wait(epoll_fd_, events.data(), kMaxEventsPerWait, wait_timeout_ms());

  for (int i = 0; i < ready; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_fd_) {
      std::uint64_t count = 0;
      ssize_t got = read(wake_fd_, &count, sizeof count);
      (void)got;
      wake_pending_ = false;
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
  read_done_transfers();
  run_tasks();
  run_timers();
  read_done_transfers();
}

int LoopCore::wait_timeout_ms() const {
  if (wake_pending_) return 0;
  auto until = Clock::time_point::max();
  if (curl_timer_armed_) until = curl_deadline_;
  if (!timers_.empty()) until = std::min(until, timers_.begin()->first.first);
  if (until == Clock::time_point::max()) return kMaxWaitMs;

  const auto now = Clock::now();
  if (until <= now) return 0;
  // Round up: waking a little early would spin until the deadline.
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
  return static_cast<int>(std::min<long long>(wait, kMaxWaitMs));
}

void LoopCore::socket_action(curl_socket_t fd, int events) {
  CurlCall call(*this);
  curl_multi_socket_action(multi_, fd, events, &running_);
}

void LoopCore::read_done_transfers() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    const CURLcode result = message->data.result;
    Transfer* transfer = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &transfer);
    if (transfer != nullptr) {
      transfer->on_transfer_done(result);
    } else {
      remove_transfer(easy);
    }
  }
}

void LoopCore::run_tasks() {
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) {
    if (stop_requested_) break;
    task();
  }
}

void LoopCore::run_timers() {
  const auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now && !stop_requested_) {
    auto node = timers_.extract(timers_.begin());
    timer_deadlines_.erase(node.key().second);
    if (node.mapped()) node.mapped()();
  }
}

LoopCore::TimerId LoopCore::add_timer(Clock::time_point when, Task task) {
  const TimerId id = next_timer_id_++;
  timers_.emplace(std::make_pair(when, id), std::move(task));
  timer_deadlines_.emplace(id, when);
  return id;
}

void LoopCore::cancel_timer(TimerId id) {
  if (id == 0) return;
  const auto found = timer_deadlines_.find(id);
  if (found == timer_deadlines_.end()) return;
  timers_.erase(std::make_pair(found->second, id));
  timer_deadlines_.erase(found);
}

CURLMcode LoopCore::add_transfer(CURL* easy) {
  const CURLMcode code = curl_multi_add_handle(multi_, easy);
  if (code == CURLM_OK) ++transfers_;
  return code;
}

void LoopCore::remove_transfer(CURL* easy) {
  if (curl_multi_remove_handle(multi_, easy) == CURLM_OK && transfers_ > 0) --transfers_;
}

void LoopCore::pause(CURL* easy, int bitmask) {
  CurlCall call(*this);
  curl_easy_pause(easy, bitmask);
}

int LoopCore::on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* self,
                        void* /*socket_data*/) {
  auto* core = static_cast<LoopCore*>(self);
  if (what == CURL_POLL_REMOVE) {
    // Fails harmlessly when libcurl already closed the socket (epoll forgot it then).
    epoll_ctl(core->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    return 0;
  }
  epoll_event event{};
  event.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  event.data.fd = fd;
  if (epoll_ctl(core->epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0 && errno == ENOENT) {
    epoll_ctl(core->epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }
  return 0;
}

int LoopCore::on_curl_timer(CURLM* /*multi*/, long timeout_ms, void* self) {
  auto* core = static_cast<LoopCore*>(self);
  if (timeout_ms < 0) {
    core->curl_timer_armed_ = false;
  } else {
    core->curl_timer_armed_ = true;
    core->curl_deadline_ = Clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  return 0;
}

}  // namespace detail

Loop::Loop() : core_(std::make_unique<detail::LoopCore>()) {}

Loop::~Loop() {
  if (core_ && core_->on_loop_thread()) {
    // Destroyed from one of its own callbacks: the thread cannot join itself. It finishes the
    // current step and frees the core.
    core_->stop_and_release_from_loop_thread();
    (void)core_.release();
  }
}

bool Loop::on_loop_thread() const noexcept {
  return core_ && core_->on_loop_thread();
}

}  // namespace ssekit
