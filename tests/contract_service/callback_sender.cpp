// callback_sender.cpp: the queue and thread behind a stream's numbered callbacks.
#include "callback_sender.hpp"

#include <chrono>
#include <iostream>
#include <utility>

namespace ssekit::contract {
namespace {

/// Limit on connecting to the harness's callback endpoint, which runs on the same host or
/// network as the service.
constexpr std::chrono::seconds kConnectTimeout{5};

/// Limit on sending one callback and reading the answer: 16 MiB over a slow CI network fits.
constexpr std::chrono::seconds kTransferTimeout{30};

/// Splits an absolute URL into its origin ("http://host:port") and its path ("/a/b").
std::pair<std::string, std::string> split_url(const std::string& url) {
  const auto authority = url.find("://");
  const auto path_start =
      authority == std::string::npos ? std::string::npos : url.find('/', authority + 3);
  if (path_start == std::string::npos) return {url, ""};
  std::string path = url.substr(path_start);
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  return {url.substr(0, path_start), path};
}

}  // namespace

CallbackSender::CallbackSender(const std::string& base_url, std::string tag)
    : tag_(std::move(tag)) {
  auto [origin, path] = split_url(base_url);
  path_ = std::move(path);
  http_ = std::make_unique<httplib::Client>(origin);
  http_->set_connection_timeout(kConnectTimeout);
  http_->set_read_timeout(kTransferTimeout);
  http_->set_write_timeout(kTransferTimeout);
  http_->set_keep_alive(true);
  thread_ = std::thread([this] { run(); });
}

CallbackSender::~CallbackSender() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  http_->stop();  // a post in flight to a stalled harness ends now instead of at its timeout
  thread_.join();
}

void CallbackSender::post(nlohmann::json message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    queue_.push_back(std::move(message));
  }
  wake_.notify_one();
}

/// The sending thread: takes messages in order and posts each under the next number. A failed
/// post is reported on stderr and not retried: the harness either is gone or will time out
/// waiting for that number, which names the problem better than a stuck queue would.
void CallbackSender::run() {
  for (;;) {
    nlohmann::json message;
    std::uint64_t number = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      message = std::move(queue_.front());
      queue_.pop_front();
      number = ++sent_;
    }

    const std::string path = path_ + "/" + std::to_string(number);
    const auto result = http_->Post(
        path.c_str(), message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
        "application/json");
    if (!result || result->status >= 300) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      std::cerr << "contract_service [" << tag_ << "]: POST " << path << " failed: "
                << (result ? "HTTP " + std::to_string(result->status)
                           : httplib::to_string(result.error()))
                << '\n';
    }
  }
}

}  // namespace ssekit::contract
