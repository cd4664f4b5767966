// publisher.cpp: the soak's publisher thread and its exactly-once publish.
#include "soak/publisher.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

#include "support/postgres_cluster.hpp"

namespace ssekit::soak {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using test::PgConnection;

// Pause between two attempts to reach a database that is away (restarting).
constexpr milliseconds kReconnectPause{50};
// A database away this long is not a restart any more: the publisher gives up and says so.
constexpr milliseconds kOutageLimit{60000};
// Longest sleep in one piece, so stop() is seen quickly.
constexpr milliseconds kSleepSlice{50};
// After an outage the schedule restarts from now instead of publishing the missed ticks in a
// burst, when they are more than this far behind.
constexpr milliseconds kMostBehind{1000};

}  // namespace

std::string sequence_data(std::int64_t seq) {
  return "{\"seq\":" + std::to_string(seq) + "}";
}

Publisher::Publisher(std::string url, double rate) : url_(std::move(url)), rate_(rate) {}

Publisher::~Publisher() {
  stop();
}

std::string Publisher::publish_start_marker() {
  PgConnection db(url_);
  return db.scalar("SELECT ssekit_publish($1, $2, $3)",
                   {kSoakChannel, kSoakType, sequence_data(0)});
}

void Publisher::start() {
  thread_ = std::thread([this] { run(); });
}

void Publisher::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::chrono::milliseconds Publisher::longest_outage() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return longest_outage_;
}

std::string Publisher::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void Publisher::run() {
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate_));
  std::unique_ptr<PgConnection> db;
  auto next_at = Clock::now();

  for (std::int64_t seq = 1; !stopping_.load();) {
    // Wait for this event's tick, in slices so that stop() is not kept waiting.
    while (!stopping_.load() && Clock::now() < next_at) {
      std::this_thread::sleep_until(std::min(next_at, Clock::now() + kSleepSlice));
    }
    if (stopping_.load()) break;

    // Publish `seq`; if the call fails the event may or may not have committed: ask the table
    // before publishing it again.
    const std::string data = sequence_data(seq);
    const auto outage_start = Clock::now();
    bool uncertain = false;
    bool done = false;
    while (!done && !stopping_.load() && Clock::now() - outage_start < kOutageLimit) {
      try {
        if (!db) db = std::make_unique<PgConnection>(url_);
        if (uncertain) {
          const auto rows =
              db->exec("SELECT id FROM ssekit_events WHERE channel = $1 AND data = $2",
                       {kSoakChannel, data});
          ambiguous_.fetch_add(1);
          uncertain = false;
          if (!rows.empty()) {
            done = true;
            break;
          }
        }
        db->exec("SELECT ssekit_publish($1, $2, $3)", {kSoakChannel, kSoakType, data});
        done = true;
      } catch (const std::exception&) {
        uncertain = uncertain || db != nullptr;
        db.reset();
        std::this_thread::sleep_for(kReconnectPause);
      }
    }
    const auto outage = std::chrono::duration_cast<milliseconds>(Clock::now() - outage_start);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      longest_outage_ = std::max(longest_outage_, outage);
      if (!done && !stopping_.load()) {
        failure_ = "the database stayed away for " + std::to_string(kOutageLimit.count()) +
                   " ms while publishing " + data;
      }
    }
    if (!done) break;

    published_.store(seq);
    ++seq;
    next_at += interval;
    if (Clock::now() - next_at > kMostBehind) next_at = Clock::now();
  }
}

}  // namespace ssekit::soak
