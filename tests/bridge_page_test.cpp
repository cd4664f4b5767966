// ssebridge's live page in a real browser: headless Chromium (Debian's package) opens GET /
// and the test reads the page's DOM over the DevTools protocol (--remote-debugging-pipe)
// until it shows events published while the page is open, and the demo chart's figures.
// Chromium missing is a failure, not a skip: scripts/install-deps installs it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "bridge_test_util.hpp"
#include "support/bridge_process.hpp"

using namespace ssekit::test;
using nlohmann::json;

namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

// Headless Chromium driven over --remote-debugging-pipe: JSON messages ending in NUL, written
// to its fd 3 and read from its fd 4.
class Browser {
 public:
  Browser() {
    std::string pattern = "/tmp/ssekit-chromium-" + std::string(6, 'X');  // mkdtemp's template
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    profile_ = pattern;
    int to_browser[2];
    int from_browser[2];
    if (pipe(to_browser) != 0 || pipe(from_browser) != 0) throw std::runtime_error("pipe");
    // No network (this machine has none), no state kept between runs.
    const std::vector<std::string> args = {kChromium,
                                           "--headless",
                                           "--no-sandbox",
                                           "--disable-gpu",
                                           "--disable-background-networking",
                                           "--disable-component-update",
                                           "--disable-sync",
                                           "--no-first-run",
                                           "--user-data-dir=" + profile_,
                                           "--remote-debugging-pipe",
                                           "about:blank"};
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(to_browser[0], 3);
      dup2(from_browser[1], 4);
      const int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
      for (int fd = 5; fd < 1024; ++fd)
        close(fd);
      execv(kChromium, argv.data());
      _exit(127);
    }
    close(to_browser[0]);
    close(from_browser[1]);
    out_ = to_browser[1];
    in_ = from_browser[0];
  }

  ~Browser() {
    if (out_ >= 0) close(out_);
    if (in_ >= 0) close(in_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(50ms);
      }
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(profile_, ec);
  }

  /// Sends a command and returns its result, skipping the events that arrive meanwhile.
  json call(const std::string& method, json params, const std::string& session = {}) {
    json message = {{"id", ++next_id_}, {"method", method}, {"params", std::move(params)}};
    if (!session.empty()) message["sessionId"] = session;
    const std::string text = message.dump() + '\0';
    if (write(out_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      throw std::runtime_error("cannot write to Chromium");
    }
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (true) {
      const size_t end = buffer_.find('\0');
      if (end != std::string::npos) {
        json reply = json::parse(buffer_.substr(0, end), nullptr, false);
        buffer_.erase(0, end + 1);
        if (reply.is_object() && reply.value("id", 0) == next_id_) {
          if (reply.contains("error")) throw std::runtime_error(reply["error"].dump());
          return reply["result"];
        }
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{in_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        throw std::runtime_error("no answer from Chromium to " + method);
      }
      char chunk[65536];
      const ssize_t n = read(in_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("Chromium closed its pipe");
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  std::string profile_;
  pid_t pid_ = -1;
  int out_ = -1;
  int in_ = -1;
  int next_id_ = 0;
  std::string buffer_;
};

}  // namespace

TEST_CASE("the live page shows events published while it is open, and the demo chart",
          "[bridge][browser]") {
  INFO("headless Chromium is needed: scripts/install-deps installs Debian's chromium");
  REQUIRE(std::filesystem::exists(kChromium));

  BridgeProcess bridge({"--demo-interval", "200ms"});
  Browser browser;
  const json target = browser.call(
      "Target.createTarget",
      {{"url", "http://127.0.0.1:" + std::to_string(bridge.port()) + "/?channel=page"}});
  const std::string session =
      browser.call("Target.attachToTarget", {{"targetId", target["targetId"]}, {"flatten", true}})
          .at("sessionId");
  const auto evaluate = [&](const std::string& expression) {
    return browser.call("Runtime.evaluate", {{"expression", expression}}, session)["result"].value(
        "value", json());
  };

  // Publish while the page is open: it subscribes without a Last-Event-ID, so only events
  // published after it connected can appear.
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    for (int i = 0; !stop && i < 600; ++i) {
      publish(bridge.port(), "page", "page event " + std::to_string(i));
      std::this_thread::sleep_for(100ms);
    }
  });
  const bool shown = eventually(
      [&] {
        const json count = evaluate("document.querySelectorAll('#events li.message').length");
        return count.is_number() && count.get<int>() >= 3;
      },
      40s);
  stop = true;
  publisher.join();

  REQUIRE(shown);
  const std::string newest = evaluate("document.querySelector('#events li .data').textContent");
  CHECK(newest.rfind("page event ", 0) == 0);
  CHECK(evaluate("document.getElementById('events-state').textContent") == "open");
  CHECK(eventually(
      [&] {
        const json n = evaluate("Number(document.getElementById('demo-n').textContent)");
        return n.is_number() && n.get<double>() >= 1;
      },
      10s));
  const std::string value = evaluate("document.getElementById('demo-value').textContent");
  CHECK(value.find('.') != std::string::npos);
}
