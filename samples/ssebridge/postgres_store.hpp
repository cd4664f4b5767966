// postgres_store.hpp: events stored in PostgreSQL and fanned out from LISTEN/NOTIFY.
//
// The schema (created at start, versioned in ssekit_meta) is an events table, a trigger that
// gives each row its id and NOTIFYs it on channel "ssekit.<channel>" (with the event when it
// fits in a notification, the id alone when not), and ssekit_publish(channel, type, data),
// which an app calls inside its own transaction. The trigger serialises publishers from their
// insert to their commit, so ids follow commit order: a reader that has seen id N has seen
// every committed event below N. That is what makes "catch up from the last id delivered" and
// "replay up to the live position" exact.
//
// One dedicated connection per bridge holds LISTEN on the channels clients read, driven by
// poll() on its socket, PQconsumeInput and PQnotifies in one thread. When it drops, the thread
// reconnects with ssekit's backoff, LISTENs again and reads from the table every event past the
// hub's live position. Publishing, replays and pruning use a small pool of other connections.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "metrics.hpp"
#include "ssekit/backoff.hpp"
#include "store.hpp"

struct pg_conn;

namespace ssebridge {

struct PostgresStoreOptions {
  /// A libpq connection string or postgresql:// URL.
  std::string url;
  QueueLimits queue;
  /// Events older than this are deleted and cannot be replayed. Default 24 h.
  std::chrono::milliseconds retention{std::chrono::hours(24)};
  /// How often old events are deleted. Default 1 min.
  std::chrono::milliseconds prune_interval{std::chrono::minutes(1)};
  /// Connections for publishing and replays. Default 8.
  size_t pool_size = 8;
  /// How long a new stream waits for its channels to be LISTENed before answering 503 (while
  /// the LISTEN connection is down it answers 503 at once). Default 5 s.
  std::chrono::milliseconds listen_wait{5000};
  /// Spacing of the LISTEN connection's reconnects: from 250 ms up to 10 s, jittered.
  ssekit::ReconnectPolicy reconnect = default_listener_reconnect();

  static ssekit::ReconnectPolicy default_listener_reconnect() {
    ssekit::ReconnectPolicy policy;
    policy.initial = std::chrono::milliseconds(250);
    policy.max = std::chrono::seconds(10);
    return policy;
  }
};

class PostgresStore final : public Store {
 public:
  /// Connects, creates or upgrades the schema and starts listening. Null, with `error`
  /// saying why, when the database cannot be reached or its schema is newer than this bridge.
  static std::unique_ptr<PostgresStore> open(const PostgresStoreOptions& options, Metrics& metrics,
                                             std::string& error);
  ~PostgresStore() override;

  const char* kind() const override { return "postgres"; }
  Hub& hub() override { return hub_; }
  Result<std::int64_t> publish(const std::string& channel, const std::string& type,
                               std::string data) override;
  Result<StreamStart> open(std::vector<std::string> channels,
                           std::optional<std::int64_t> last_event_id, std::string peer) override;
  Result<std::vector<EventPtr>> replay(const std::vector<std::string>& channels, std::int64_t after,
                                       size_t limit) override;
  bool healthy(std::string& detail) const override;
  void stop() override;

  class Pool;

 private:
  PostgresStore(const PostgresStoreOptions& options, Metrics& metrics);

  bool start(std::string& error);

  /// Waits until every channel of `channels` is LISTENed; false after listen_wait.
  bool ensure_listening(const std::vector<std::string>& channels);
  void forget_pending(const std::vector<std::string>& channels);

  // The listener thread and its steps.
  void listen_loop();
  bool connect_listener(std::string& error);
  bool catch_up(const std::set<std::string>& channels, size_t& delivered, std::string& error);
  bool reconcile(std::string& error);
  bool drain_notifications(std::string& error);
  void drop_listener(const std::string& reason);
  void wake();
  /// Waits up to `delay` for stop() or a wake-up; true when stopping.
  bool pause(std::chrono::milliseconds delay);

  void prune_loop();

  const PostgresStoreOptions options_;
  Metrics& metrics_;
  Hub hub_;
  std::unique_ptr<Pool> pool_;

  pg_conn* listener_ = nullptr;  // owned by the listener thread once it runs
  int wake_fd_ = -1;             // eventfd: channels changed, or stopping
  std::thread listen_thread_;
  std::thread prune_thread_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string> active_;   // LISTENed on the current connection
  std::set<std::string> pending_;  // asked for, not yet LISTENed
  bool connected_ = false;
  bool stopping_ = false;
};

}  // namespace ssebridge
