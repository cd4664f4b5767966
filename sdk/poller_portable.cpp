// poller_portable.cpp: the poller for every platform libcurl supports (Windows and macOS
// included). libcurl itself waits on its sockets and its wake-up pair in curl_multi_poll, and
// curl_multi_perform then drives the transfers, so this file makes no OS call of its own.
// The price: each wake-up walks every transfer, which the epoll poller avoids on Linux.
#include <curl/curl.h>

#include <climits>

#include "platform.hpp"

#if LIBCURL_VERSION_NUM < 0x074400
#error "the portable loop backend needs libcurl 7.68 or newer (curl_multi_poll, curl_multi_wakeup)"
#endif

namespace ssekit::detail {
namespace {

class PortablePoller final : public Poller {
 public:
  explicit PortablePoller(CURLM* multi) : multi_(multi) {}

  PortablePoller(const PortablePoller&) = delete;
  PortablePoller& operator=(const PortablePoller&) = delete;

  // curl_multi_poll shortens the wait by itself when libcurl's own timer is due sooner, and
  // returns at once when a transfer was just added or resumed (its timer is then 0). It also
  // drains the wake-up pair, so one wake() ends one wait.
  void wait_and_drive(std::chrono::milliseconds longest) override {
    const auto wait_ms = longest.count() < INT_MAX ? static_cast<int>(longest.count()) : INT_MAX;
    int ready = 0;
    (void)curl_multi_poll(multi_, nullptr, 0, wait_ms, &ready);

    // Also after a failed poll (like epoll_wait's, its failure is ignored): perform finds out by
    // itself which transfers can make progress.
    int running = 0;
    (void)curl_multi_perform(multi_, &running);
  }

  void wake() override { (void)curl_multi_wakeup(multi_); }

 private:
  CURLM* multi_;
};

}  // namespace

std::unique_ptr<Poller> make_poller(CURLM* multi) {
  return std::make_unique<PortablePoller>(multi);
}

}  // namespace ssekit::detail
