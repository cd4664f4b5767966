// loop.cpp: the loop thread: its task queue, timers and transfers. Waiting for sockets is the
// poller's job (platform.hpp), so nothing here depends on the platform.
#include "ssekit/loop.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "loop_core.hpp"
#include "platform.hpp"

namespace ssekit {
namespace detail {
namespace {

// Upper bound on one wait even with nothing scheduled: a safety net, not a heartbeat.
constexpr std::chrono::milliseconds kMaxWait{60'000};

// Streams libcurl puts on one HTTP/2 connection at most. Its own default is 100, and libcurl
// 7.88 opens a connection of its own for every stream past that limit, so the 101st to 200th
// streams to one origin took 100 extra connections. The server's SETTINGS_MAX_CONCURRENT_STREAMS
// still applies (nginx: 128, often raised); this only keeps the client from being the limit.
constexpr long kMaxStreamsPerConnection = 10'000;

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
  if (multi_ == nullptr)
    throw std::runtime_error("ssekit: cannot create the event loop (curl multi)");
  try {
    poller_ = make_poller(multi_);
  } catch (...) {
    curl_multi_cleanup(multi_);
    throw;
  }

  // HTTP/2 streams to one origin share a connection (with CURLOPT_PIPEWAIT on each stream).
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
}

LoopCore::~LoopCore() {
  if (!on_loop_thread()) stop();
  // Whatever a client left behind (it should have removed its handle) must not outlive us.
  for (auto& [key, task] : timers_)
    task = nullptr;
  tasks_.clear();
  // The poller goes after the multi handle: cleanup may still call its socket callback.
  curl_multi_cleanup(multi_);
  poller_.reset();
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
  if (!wake_pending_.exchange(true)) poller_->wake();
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
  poller_->wake();
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

// One turn of the loop: wait and let libcurl work, then finished transfers, posted tasks and due
// timers. Clearing wake_pending_ before the tasks are taken is what makes a post() that comes
// later ring the poller again.
void LoopCore::step() {
  {
    CurlCall call(*this);
    poller_->wait_and_drive(longest_wait());
  }
  wake_pending_ = false;

  read_done_transfers();
  run_tasks();
  run_timers();
  read_done_transfers();
}

// How long the poller may sleep for the loop's own sake: not at all with work posted, else until
// the next timer. libcurl's timers are the poller's to add.
std::chrono::milliseconds LoopCore::longest_wait() const {
  if (wake_pending_) return std::chrono::milliseconds(0);
  if (timers_.empty()) return kMaxWait;

  const auto now = Clock::now();
  const auto until = timers_.begin()->first.first;
  if (until <= now) return std::chrono::milliseconds(0);
  // Round up: waking a little early would spin until the deadline.
  return std::min(std::chrono::ceil<std::chrono::milliseconds>(until - now), kMaxWait);
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
