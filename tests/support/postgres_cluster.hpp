// postgres_cluster.hpp: a throwaway PostgreSQL server for tests.
//
// PostgresCluster lays out a fresh data folder (a copy of one initdb run, cached in /tmp per
// server version, since initdb takes seconds) and starts the server on a free
// port of 127.0.0.1 (as the `postgres` user when the tests run as root, since the server
// refuses to run as root), with durability off because the data is thrown away. It stops the
// server and removes the folder when destroyed; a watchdog process does the same if the test
// process dies first, so no server outlives its test. It never skips: if PostgreSQL cannot be
// started, the constructor throws with what went wrong and the server's log.
//
//   auto& pg = ssekit::test::PostgresCluster::shared();
//   const std::string url = pg.create_database();  // postgresql://postgres@127.0.0.1:port/db
//   ssekit::test::PgConnection db(url);
//   db.exec("SELECT ssekit_publish('orders', 'created', '{}')");
#pragma once

#include <string>
#include <vector>

struct pg_conn;

namespace ssekit::test {

class PostgresCluster {
 public:
  /// The cluster of this test process, started on first use and stopped at exit.
  static PostgresCluster& shared();

  /// Creates and starts a cluster. Throws std::runtime_error when it cannot.
  PostgresCluster();
  ~PostgresCluster();

  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  /// Stops the server (fast shutdown: open connections are terminated).
  void stop();
  /// Starts it again on the same port and data.
  void start();
  void restart() {
    stop();
    start();
  }

  int port() const { return port_; }

  /// A new, empty database; returns its URL.
  std::string create_database();

  /// The URL of database `name`.
  std::string url(const std::string& name) const;

 private:
  /// A folder holding an initdb'd data directory to copy, made on first use.
  std::string template_dir() const;
  void start_watchdog();

  std::string bin_dir_;
  std::vector<std::string> run_as_;  // "runuser -u postgres --" when root, else nothing
  std::string dir_;
  int port_ = 0;
  bool running_ = false;
  int watchdog_fd_ = -1;
  int databases_ = 0;
};

/// A plain libpq connection for tests: exec() throws on any error.
class PgConnection {
 public:
  explicit PgConnection(const std::string& url);
  ~PgConnection();

  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  /// Runs `sql` with text parameters $1, $2...; returns the rows as text.
  std::vector<std::vector<std::string>> exec(const std::string& sql,
                                             const std::vector<std::string>& params = {});

  /// The first column of the first row.
  std::string scalar(const std::string& sql, const std::vector<std::string>& params = {});

 private:
  pg_conn* conn_;
};

}  // namespace ssekit::test
