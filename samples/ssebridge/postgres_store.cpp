#include "postgres_store.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "log.hpp"

namespace ssebridge {
namespace {

// The schema version this bridge writes; a database at a newer one is refused.
constexpr int kSchemaVersion = 1;
// Advisory lock keys ("ssekit" in ASCII, and one past it): the first serialises schema
// changes across bridges starting together; the second, taken by the insert trigger,
// serialises publishers so ids follow commit order.
constexpr long long kSchemaLockKey = 126939459971444LL;
// The prefix of the Postgres notification channel of each bridge channel.
constexpr const char* kNotifyPrefix = "ssekit.";
constexpr size_t kNotifyPrefixLength = 7;
// Rows read per catch-up query after a reconnect.
constexpr int kCatchUpPage = 1000;
// How long a connection attempt of the LISTEN connection may take.
constexpr std::chrono::seconds kConnectTimeout{10};
// How long a request waits for a free pool connection.
constexpr std::chrono::seconds kPoolWait{5};

// Each entry upgrades the schema by one version; entry i goes from version i to i + 1.
const char* const kMigrations[] = {
    // Version 1: the events table, its triggers, ssekit_publish() and ssekit_prune().
    R"sql(
CREATE SEQUENCE ssekit_events_id_seq;

CREATE TABLE ssekit_events (
  id         bigint PRIMARY KEY,
  channel    text NOT NULL CHECK (channel ~ '^[A-Za-z0-9_.:-]{1,56}$'),
  type       text NOT NULL DEFAULT 'message' CHECK (type ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  data       text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
ALTER SEQUENCE ssekit_events_id_seq OWNED BY ssekit_events.id;
CREATE INDEX ssekit_events_channel_id ON ssekit_events (channel, id);
CREATE INDEX ssekit_events_created_at ON ssekit_events (created_at);

-- Ids are drawn here, not by a column default: the lock, held until the publishing
-- transaction ends, makes ids follow commit order, so whoever has seen id N has seen every
-- committed id below it. Publish as late in a transaction as you can.
CREATE FUNCTION ssekit_events_assign_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(126939459971445);
  NEW.id := nextval('ssekit_events_id_seq');
  NEW.created_at := clock_timestamp();
  RETURN NEW;
END $$;

-- The notification carries "id,type,data", or only "id" when that would not fit in the
-- 8000 bytes a payload may have; the bridge then reads the row.
CREATE FUNCTION ssekit_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload text := NEW.id::text || ',' || NEW.type || ',' || NEW.data;
BEGIN
  IF octet_length(payload) >= 8000 THEN
    payload := NEW.id::text;
  END IF;
  PERFORM pg_notify('ssekit.' || NEW.channel, payload);
  RETURN NULL;
END $$;

CREATE TRIGGER ssekit_events_assign_id BEFORE INSERT ON ssekit_events
  FOR EACH ROW EXECUTE FUNCTION ssekit_events_assign_id();
CREATE TRIGGER ssekit_events_notify AFTER INSERT ON ssekit_events
  FOR EACH ROW EXECUTE FUNCTION ssekit_events_notify();

-- Publishes an event if and only if the calling transaction commits; returns its id.
CREATE FUNCTION ssekit_publish(channel text, type text, data text) RETURNS bigint
LANGUAGE sql AS $$
  INSERT INTO ssekit_events (channel, type, data)
  VALUES ($1, coalesce($2, 'message'), coalesce($3, '')) RETURNING id
$$;

-- Deletes the events older than `retention` and records the newest id deleted, below which
-- a Last-Event-ID cannot be resumed. Returns the number of rows deleted.
CREATE FUNCTION ssekit_prune(retention interval) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  cutoff bigint;
  deleted bigint;
BEGIN
  SELECT id INTO cutoff FROM ssekit_events
    WHERE created_at < clock_timestamp() - retention ORDER BY created_at DESC LIMIT 1;
  IF cutoff IS NULL THEN
    RETURN 0;
  END IF;
  DELETE FROM ssekit_events WHERE id <= cutoff;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  UPDATE ssekit_meta SET value = greatest(value::bigint, cutoff)::text
    WHERE key = 'pruned_through';
  RETURN deleted;
END $$;

INSERT INTO ssekit_meta (key, value) VALUES ('pruned_through', '0');
)sql",
};

static_assert(sizeof kMigrations / sizeof kMigrations[0] == kSchemaVersion,
              "one migration per schema version");

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// The first line of libpq's error text, which may span lines and ends with one.
std::string first_line(const char* text) {
  std::string s = text != nullptr ? text : "";
  const size_t eol = s.find('\n');
  if (eol != std::string::npos) s.resize(eol);
  return s.empty() ? "unknown error" : s;
}

std::string error_of(PGconn* conn) {
  return first_line(PQerrorMessage(conn));
}

std::string error_of(const PGresult* result) {
  return first_line(PQresultErrorMessage(result));
}

// "127.0.0.1:5432/app": where a connection goes, without user or password.
std::string describe(PGconn* conn) {
  return std::string(PQhost(conn)) + ":" + PQport(conn) + "/" + PQdb(conn);
}

// Connection keywords: ours first as defaults, then the URL, whose settings win.
struct ConnectParams {
  std::vector<const char*> keys;
  std::vector<const char*> values;

  explicit ConnectParams(const std::string& url) {
    add("connect_timeout", "10");
    add("application_name", "ssebridge");
    add("keepalives", "1");
    add("keepalives_idle", "10");
    add("keepalives_interval", "5");
    add("keepalives_count", "3");
    add("dbname", url.c_str());
    // Events are UTF-8 text on the wire; the database converts if it stores another encoding.
    add("client_encoding", "UTF8");
    keys.push_back(nullptr);
    values.push_back(nullptr);
  }

  void add(const char* key, const char* value) {
    keys.push_back(key);
    values.push_back(value);
  }
};

PGconn* connect_blocking(const std::string& url, std::string& error) {
  const ConnectParams params(url);
  PGconn* conn = PQconnectdbParams(params.keys.data(), params.values.data(), 1);
  if (conn == nullptr) {
    error = "out of memory";
    return nullptr;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    error = error_of(conn);
    PQfinish(conn);
    return nullptr;
  }
  return conn;
}

PgResult exec(PGconn* conn, const std::string& sql) {
  return PgResult(PQexec(conn, sql.c_str()));
}

PgResult exec_params(PGconn* conn, const char* sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params)
    values.push_back(p.c_str());
  return PgResult(PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0));
}

bool ok(const PgResult& result) {
  const auto status = PQresultStatus(result.get());
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

// A text[] literal of validated channel names: {"a","b"}.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"' + item + '"';
  }
  return out + "}";
}

std::int64_t to_int64(const char* text) {
  return std::strtoll(text, nullptr, 10);
}

std::vector<EventPtr> events_of(const PGresult* result) {
  std::vector<EventPtr> out;
  const int rows = PQntuples(result);
  out.reserve(static_cast<size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    out.push_back(make_event(
        to_int64(PQgetvalue(result, i, 0)), PQgetvalue(result, i, 1), PQgetvalue(result, i, 2),
        std::string(PQgetvalue(result, i, 3), static_cast<size_t>(PQgetlength(result, i, 3)))));
  }
  return out;
}

// Creates the schema, or upgrades it, in one transaction that other bridges wait for.
bool migrate(PGconn* conn, std::string& error) {
  const auto fail = [&](const std::string& why) {
    error = "database schema: " + why;
    exec(conn, "ROLLBACK");
    return false;
  };
  if (!ok(exec(conn, "BEGIN"))) return fail(error_of(conn));
  if (auto r = exec(conn, "SELECT pg_advisory_xact_lock(" + std::to_string(kSchemaLockKey) + ")");
      !ok(r)) {
    return fail(error_of(r.get()));
  }
  if (auto r = exec(conn,
                    "CREATE TABLE IF NOT EXISTS ssekit_meta ("
                    "key text PRIMARY KEY, value text NOT NULL)");
      !ok(r)) {
    return fail(error_of(r.get()));
  }
  auto r = exec(conn, "SELECT value FROM ssekit_meta WHERE key = 'schema_version'");
  if (!ok(r)) return fail(error_of(r.get()));
  const int version = PQntuples(r.get()) == 1 ? std::atoi(PQgetvalue(r.get(), 0, 0)) : 0;
  if (version > kSchemaVersion) {
    return fail("the database is at schema version " + std::to_string(version) +
                ", newer than this bridge's " + std::to_string(kSchemaVersion));
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    if (auto m = exec(conn, kMigrations[v]); !ok(m)) {
      return fail("upgrade to version " + std::to_string(v + 1) + ": " + error_of(m.get()));
    }
  }
  if (auto u = exec_params(conn,
                           "INSERT INTO ssekit_meta (key, value) VALUES ('schema_version', $1) "
                           "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                           {std::to_string(kSchemaVersion)});
      !ok(u)) {
    return fail(error_of(u.get()));
  }
  if (!ok(exec(conn, "COMMIT"))) return fail(error_of(conn));
  if (version < kSchemaVersion) {
    log_info("postgres: schema " + std::string(version == 0 ? "created" : "upgraded") +
             " at version " + std::to_string(kSchemaVersion));
  }
  return true;
}

}  // namespace

// A few connections for publishing, replays and pruning, opened on demand. A connection that
// broke is closed when it comes back, and the next request opens a fresh one.
class PostgresStore::Pool {
 public:
  Pool(std::string url, size_t size) : url_(std::move(url)), size_(size) {}

  ~Pool() {
    for (PGconn* conn : idle_)
      PQfinish(conn);
  }

  class Lease {
   public:
    Lease(Pool* pool, PGconn* conn) : pool_(pool), conn_(conn) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(other.conn_) {
      other.conn_ = nullptr;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_ != nullptr) pool_->give_back(conn_);
    }
    PGconn* get() const { return conn_; }
    explicit operator bool() const { return conn_ != nullptr; }

   private:
    Pool* pool_;
    PGconn* conn_;
  };

  /// A connection, or an empty lease with `error` set when none can be had within kPoolWait.
  Lease acquire(std::string& error) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + kPoolWait;
    while (idle_.empty() && open_ >= size_) {
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
        error = "no database connection free";
        return Lease(this, nullptr);
      }
    }
    if (!idle_.empty()) {
      PGconn* conn = idle_.back();
      idle_.pop_back();
      return Lease(this, conn);
    }
    ++open_;
    lock.unlock();
    PGconn* conn = connect_blocking(url_, error);
    if (conn == nullptr) {
      lock.lock();
      --open_;
      changed_.notify_one();
    }
    return Lease(this, conn);
  }

  /// Creates or upgrades the schema; used once at start, which also checks the database.
  bool migrate_schema(std::string& error) {
    Lease lease = acquire(error);
    return lease && migrate(lease.get(), error);
  }

 private:
  void give_back(PGconn* conn) {
    const bool reusable =
        PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE;
    if (!reusable) PQfinish(conn);
    std::lock_guard<std::mutex> lock(mutex_);
    if (reusable) {
      idle_.push_back(conn);
    } else {
      --open_;
    }
    changed_.notify_one();
  }

  const std::string url_;
  const size_t size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<PGconn*> idle_;
  size_t open_ = 0;
};

PostgresStore::PostgresStore(const PostgresStoreOptions& options, Metrics& metrics)
    : options_(options),
      metrics_(metrics),
      hub_(options.queue),
      pool_(std::make_unique<Pool>(options.url, options.pool_size)) {}

std::unique_ptr<PostgresStore> PostgresStore::open(const PostgresStoreOptions& options,
                                                   Metrics& metrics, std::string& error) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(options, metrics));
  if (!store->start(error)) return nullptr;
  return store;
}

bool PostgresStore::start(std::string& error) {
  std::string why;
  if (!pool_->migrate_schema(why)) {
    error = "cannot use the database: " + why;
    return false;
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    error = std::string("eventfd: ") + std::strerror(errno);
    return false;
  }
  if (!connect_listener(why)) {
    error = "cannot connect to the database: " + why;
    return false;
  }
  log_info("postgres: listening on " + describe(listener_) + ", events up to id " +
           std::to_string(hub_.position()));
  hub_.set_channels_handler([this] { wake(); });
  listen_thread_ = std::thread([this] { listen_loop(); });
  prune_thread_ = std::thread([this] { prune_loop(); });
  return true;
}

PostgresStore::~PostgresStore() {
  stop();
  if (listener_ != nullptr) PQfinish(listener_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void PostgresStore::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  changed_.notify_all();
  hub_.close();
  wake();
  if (listen_thread_.joinable()) listen_thread_.join();
  if (prune_thread_.joinable()) prune_thread_.join();
}

void PostgresStore::wake() {
  if (wake_fd_ < 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

bool PostgresStore::healthy(std::string& detail) const {
  std::lock_guard<std::mutex> lock(mutex_);
  detail = connected_ ? "postgres connected" : "postgres reconnecting";
  return connected_;
}

// --- The LISTEN connection -------------------------------------------------------------------

bool PostgresStore::connect_listener(std::string& error) {
  // Connected without blocking, so stop() is never kept waiting for a connect timeout.
  const ConnectParams params(options_.url);
  PGconn* conn = PQconnectStartParams(params.keys.data(), params.values.data(), 1);
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) {
    error = conn != nullptr ? error_of(conn) : "out of memory";
    if (conn != nullptr) PQfinish(conn);
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + kConnectTimeout;
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    if (status == PGRES_POLLING_FAILED) {
      error = error_of(conn);
      PQfinish(conn);
      return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd fds[2] = {
        {PQsocket(conn), static_cast<short>(status == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0},
        {wake_fd_, POLLIN, 0}};
    const int n = left.count() > 0 ? ::poll(fds, 2, static_cast<int>(left.count())) : 0;
    if (n == 0) {
      error = "connection timed out";
      PQfinish(conn);
      return false;
    }
    if (fds[1].revents != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &count, sizeof count);
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) {
        error = "stopping";
        PQfinish(conn);
        return false;
      }
    }
    if (fds[0].revents != 0) status = PQconnectPoll(conn);
  }
  listener_ = conn;

  std::set<std::string> channels;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    channels = active_;
    channels.insert(pending_.begin(), pending_.end());
  }
  std::string sql;
  for (const auto& channel : channels) {
    char* quoted = PQescapeIdentifier(listener_, (kNotifyPrefix + channel).c_str(),
                                      kNotifyPrefixLength + channel.size());
    if (quoted == nullptr) continue;
    sql += "LISTEN ";
    sql += quoted;
    sql += ";";
    PQfreemem(quoted);
  }
  size_t caught_up = 0;
  if (!sql.empty()) {
    if (auto r = exec(listener_, sql); !ok(r)) {
      error = error_of(r.get());
      PQfinish(listener_);
      listener_ = nullptr;
      return false;
    }
  }
  if (!channels.empty() && !catch_up(channels, caught_up, error)) {
    PQfinish(listener_);
    listener_ = nullptr;
    return false;
  }
  if (channels.empty()) {
    // Nothing is listened to yet: the live position starts at the end of the table.
    auto r = exec(listener_, "SELECT coalesce(max(id), 0) FROM ssekit_events");
    if (!ok(r)) {
      error = error_of(r.get());
      PQfinish(listener_);
      listener_ = nullptr;
      return false;
    }
    hub_.advance_to(to_int64(PQgetvalue(r.get(), 0, 0)));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    active_ = channels;
    for (const auto& c : channels)
      pending_.erase(c);
    connected_ = true;
  }
  changed_.notify_all();
  if (caught_up > 0) {
    log_info("postgres: caught up " + std::to_string(caught_up) + " events from the table");
  }
  return true;
}

bool PostgresStore::catch_up(const std::set<std::string>& channels, size_t& delivered,
                             std::string& error) {
  const std::string array = text_array(std::vector<std::string>(channels.begin(), channels.end()));
  while (true) {
    auto r = exec_params(listener_,
                         "SELECT id, channel, type, data FROM ssekit_events "
                         "WHERE id > $1 AND channel = ANY($2::text[]) ORDER BY id LIMIT $3",
                         {std::to_string(hub_.position()), array, std::to_string(kCatchUpPage)});
    if (!ok(r)) {
      error = error_of(r.get());
      return false;
    }
    for (const auto& event : events_of(r.get()))
      delivered += hub_.deliver(event) ? 1 : 0;
    if (PQntuples(r.get()) < kCatchUpPage) return true;
  }
}

void PostgresStore::drop_listener(const std::string& reason) {
  if (listener_ != nullptr) {
    PQfinish(listener_);
    listener_ = nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    connected_ = false;
  }
  changed_.notify_all();
  log_warn("postgres: LISTEN connection lost (" + reason + "); reconnecting");
}

bool PostgresStore::pause(std::chrono::milliseconds delay) {
  pollfd fd{wake_fd_, POLLIN, 0};
  ::poll(&fd, 1, static_cast<int>(delay.count()));
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

void PostgresStore::listen_loop() {
  const auto random = ssekit::default_random_source();
  unsigned attempt = 0;
  std::string error;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    if (listener_ == nullptr) {
      if (!connect_listener(error)) {
        const auto delay = ssekit::backoff_delay(options_.reconnect, attempt++, random());
        log_debug("postgres: reconnect attempt " + std::to_string(attempt) + " failed (" + error +
                  "); next in " + std::to_string(delay.count()) + " ms");
        if (pause(delay)) return;
        continue;
      }
      metrics_.postgres_reconnects.fetch_add(1, std::memory_order_relaxed);
      log_info("postgres: LISTEN connection back after " + std::to_string(attempt) +
               (attempt == 1 ? " attempt" : " attempts"));
      attempt = 0;
    }

    pollfd fds[2] = {{PQsocket(listener_), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      drop_listener(std::string("poll: ") + std::strerror(errno));
      continue;
    }
    if (fds[1].revents != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &count, sizeof count);
      if (!reconcile(error)) {
        drop_listener(error);
        continue;
      }
    }
    if (fds[0].revents != 0) {
      if (PQconsumeInput(listener_) == 0 || PQstatus(listener_) != CONNECTION_OK) {
        drop_listener(error_of(listener_));
        continue;
      }
    }
    if (!drain_notifications(error)) drop_listener(error);
  }
}

// LISTENs to the channels streams asked for, and UNLISTENs those nobody reads any more.
bool PostgresStore::reconcile(std::string& error) {
  std::vector<std::string> add;
  std::vector<std::string> remove;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return true;
    for (const auto& c : pending_) {
      if (!active_.count(c)) add.push_back(c);
    }
    for (auto it = active_.begin(); it != active_.end();) {
      if (!pending_.count(*it) && !hub_.has_subscribers(*it)) {
        remove.push_back(*it);
        it = active_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (add.empty() && remove.empty()) {
    changed_.notify_all();
    return true;
  }
  std::string sql;
  const auto append = [&](const char* verb, const std::string& channel) {
    char* quoted = PQescapeIdentifier(listener_, (kNotifyPrefix + channel).c_str(),
                                      kNotifyPrefixLength + channel.size());
    if (quoted == nullptr) return;
    sql += verb;
    sql += quoted;
    sql += ";";
    PQfreemem(quoted);
  };
  for (const auto& c : remove)
    append("UNLISTEN ", c);
  for (const auto& c : add)
    append("LISTEN ", c);
  if (auto r = exec(listener_, sql); !ok(r)) {
    error = error_of(r.get());
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& c : add) {
      active_.insert(c);
      pending_.erase(c);
    }
  }
  changed_.notify_all();
  return true;
}

bool PostgresStore::drain_notifications(std::string& error) {
  while (PGnotify* raw = PQnotifies(listener_)) {
    const std::unique_ptr<PGnotify, void (*)(void*)> notify(raw, PQfreemem);
    const std::string relname = notify->relname;
    if (relname.compare(0, kNotifyPrefixLength, kNotifyPrefix) != 0) continue;
    const std::string channel = relname.substr(kNotifyPrefixLength);
    const std::string payload = notify->extra;
    const size_t comma1 = payload.find(',');
    const std::int64_t id = to_int64(payload.substr(0, comma1).c_str());
    if (id <= hub_.position()) continue;  // already delivered by a catch-up

    EventPtr event;
    const size_t comma2 = comma1 == std::string::npos ? comma1 : payload.find(',', comma1 + 1);
    if (comma2 != std::string::npos) {
      event = make_event(id, channel, payload.substr(comma1 + 1, comma2 - comma1 - 1),
                         payload.substr(comma2 + 1));
    } else {
      // Too large for a notification: read the row.
      auto r =
          exec_params(listener_, "SELECT id, channel, type, data FROM ssekit_events WHERE id = $1",
                      {std::to_string(id)});
      if (!ok(r)) {
        error = error_of(r.get());
        return false;
      }
      auto rows = events_of(r.get());
      if (rows.empty()) continue;  // pruned in the meantime
      event = std::move(rows.front());
    }
    hub_.deliver(event);
  }
  return true;
}

bool PostgresStore::ensure_listening(const std::vector<std::string>& channels) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto ready = [&] {
    if (stopping_) return true;
    if (!connected_) return false;
    for (const auto& c : channels) {
      if (!active_.count(c)) return false;
    }
    return true;
  };
  // With the connection down there is nothing to wait for: the client gets 503 and retries.
  if (!connected_) return false;
  if (!ready()) {
    for (const auto& c : channels) {
      if (!active_.count(c)) pending_.insert(c);
    }
    wake();
    changed_.wait_for(lock, options_.listen_wait, ready);
  }
  return ready() && !stopping_;
}

void PostgresStore::forget_pending(const std::vector<std::string>& channels) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& c : channels) {
    if (!hub_.has_subscribers(c)) pending_.erase(c);
  }
}

// --- Requests --------------------------------------------------------------------------------

Result<std::int64_t> PostgresStore::publish(const std::string& channel, const std::string& type,
                                            std::string data) {
  std::string error;
  auto lease = pool_->acquire(error);
  if (!lease) return Result<std::int64_t>::unavailable("database unavailable: " + error);
  auto r = exec_params(lease.get(), "SELECT ssekit_publish($1, $2, $3)", {channel, type, data});
  if (!ok(r)) {
    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
    // Class 22 (data exception) and 23 (integrity violation) are the request's fault.
    if (state != nullptr &&
        (std::strncmp(state, "22", 2) == 0 || std::strncmp(state, "23", 2) == 0)) {
      return Result<std::int64_t>::bad_request(error_of(r.get()));
    }
    return Result<std::int64_t>::unavailable("database unavailable: " + error_of(r.get()));
  }
  return Result<std::int64_t>::ok(to_int64(PQgetvalue(r.get(), 0, 0)));
}

Result<StreamStart> PostgresStore::open(std::vector<std::string> channels,
                                        std::optional<std::int64_t> last_event_id,
                                        std::string peer) {
  StreamStart start;
  start.subscribed = hub_.subscribe(channels, std::move(peer));
  const auto give_up = [&](const std::string& why) {
    hub_.unsubscribe(start.subscribed.subscription);
    forget_pending(channels);
    return Result<StreamStart>::unavailable(why);
  };
  if (!ensure_listening(channels)) {
    return give_up("the database is not reachable; retry later");
  }
  start.from = start.subscribed.position;
  if (!last_event_id) return Result<StreamStart>::ok(std::move(start));

  std::string error;
  auto lease = pool_->acquire(error);
  if (!lease) return give_up("database unavailable: " + error);
  auto r = exec(lease.get(),
                "SELECT (SELECT value::bigint FROM ssekit_meta WHERE key = 'pruned_through'), "
                "(SELECT coalesce(max(id), 0) FROM ssekit_events), "
                "(SELECT last_value FROM ssekit_events_id_seq)");
  if (!ok(r)) return give_up("database unavailable: " + error_of(r.get()));
  const std::int64_t pruned_through = to_int64(PQgetvalue(r.get(), 0, 0));
  // Everything up to here is committed or gone: a reset resumes after it.
  const std::int64_t newest =
      std::max({to_int64(PQgetvalue(r.get(), 0, 1)), pruned_through, start.from});
  const std::int64_t issued = to_int64(PQgetvalue(r.get(), 0, 2));
  if (*last_event_id > issued) {
    start.resume = StreamStart::Resume::reset;
    start.reset_reason = "unknown-id";
    start.from = newest;
  } else if (*last_event_id < pruned_through) {
    start.resume = StreamStart::Resume::reset;
    start.reset_reason = "retention";
    start.from = newest;
  } else {
    start.resume = StreamStart::Resume::replay;
    start.from = *last_event_id;
  }
  return Result<StreamStart>::ok(std::move(start));
}

Result<std::vector<EventPtr>> PostgresStore::replay(const std::vector<std::string>& channels,
                                                    std::int64_t after, size_t limit) {
  std::string error;
  auto lease = pool_->acquire(error);
  if (!lease) return Result<std::vector<EventPtr>>::unavailable("database unavailable: " + error);
  auto r = exec_params(lease.get(),
                       "SELECT id, channel, type, data FROM ssekit_events "
                       "WHERE id > $1 AND channel = ANY($2::text[]) ORDER BY id LIMIT $3",
                       {std::to_string(after), text_array(channels), std::to_string(limit)});
  if (!ok(r)) {
    return Result<std::vector<EventPtr>>::unavailable("database unavailable: " + error_of(r.get()));
  }
  return Result<std::vector<EventPtr>>::ok(events_of(r.get()));
}

// --- Retention -------------------------------------------------------------------------------

void PostgresStore::prune_loop() {
  const double seconds = std::chrono::duration<double>(options_.retention).count();
  std::unique_lock<std::mutex> lock(mutex_);
  while (!changed_.wait_for(lock, options_.prune_interval, [this] { return stopping_; })) {
    lock.unlock();
    std::string error;
    auto lease = pool_->acquire(error);
    if (lease) {
      auto r = exec_params(lease.get(), "SELECT ssekit_prune(make_interval(secs => $1))",
                           {std::to_string(seconds)});
      if (ok(r)) {
        metrics_.pruned_events.fetch_add(
            static_cast<std::uint64_t>(to_int64(PQgetvalue(r.get(), 0, 0))),
            std::memory_order_relaxed);
      } else {
        log_debug("postgres: pruning failed: " + error_of(r.get()));
      }
    }
    lock.lock();
  }
}

}  // namespace ssebridge
