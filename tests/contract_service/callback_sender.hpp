// callback_sender.hpp: posts one stream's messages to the harness, numbered and in order.
//
// The harness gives each stream a callback base URL and expects `POST {base}/1`, `{base}/2`,
// ... with one JSON message each. The ssekit loop thread only queues a message; a thread of the
// sender's own serialises and posts it, so a slow harness never stalls the event loop.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace ssekit::contract {

class CallbackSender {
 public:
  /// Prepares posting under `base_url` (absolute http(s) URL) and starts the sending thread.
  /// `tag` names the stream in the lines it writes to stderr when a post fails.
  CallbackSender(const std::string& base_url, std::string tag);
  /// Drops what is still queued, aborts a post in flight and joins the thread.
  ~CallbackSender();

  CallbackSender(const CallbackSender&) = delete;
  CallbackSender& operator=(const CallbackSender&) = delete;

  /// Queues `message` as the next callback of this stream. Cheap: callable from the loop thread.
  void post(nlohmann::json message);

 private:
  void run();

  std::string path_;  // the path part of the base URL, without a trailing slash
  std::string tag_;
  std::unique_ptr<httplib::Client> http_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<nlohmann::json> queue_;
  bool stopping_ = false;
  std::uint64_t sent_ = 0;  // callbacks posted so far; the next one is numbered sent_ + 1

  std::thread thread_;  // last: starts after every member above is ready
};

}  // namespace ssekit::contract
