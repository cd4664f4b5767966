#include "support/postgres_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace ssekit::test {
namespace {

namespace fs = std::filesystem;

// Where Debian installs the server; SSEKIT_PG_BINDIR overrides it.
constexpr const char* kPostgresRoot = "/usr/lib/postgresql";
// Attempts at starting on a free port: another process may take the port between our probe and
// the server's bind.
constexpr int kStartAttempts = 3;
// Seconds pg_ctl waits for the server to start or stop.
constexpr const char* kPgCtlWaitSeconds = "60";

struct CommandResult {
  int status = -1;
  std::string output;
};

// Runs argv to completion, its stdout and stderr captured together.
CommandResult run_command(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  CommandResult result;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0)
    result.output.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string find_bin_dir() {
  if (const char* dir = std::getenv("SSEKIT_PG_BINDIR"); dir != nullptr && *dir != '\0') return dir;
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kPostgresRoot, ec)) {
    const std::string name = entry.path().filename().string();
    const int version = std::atoi(name.c_str());
    if (version > best_version && fs::exists(entry.path() / "bin" / "initdb")) {
      best_version = version;
      best = (entry.path() / "bin").string();
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        std::string("PostgreSQL server binaries not found under ") + kPostgresRoot +
        "/<version>/bin (run scripts/install-deps, which installs Debian's postgresql)");
  }
  return best;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot find a free port on 127.0.0.1");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  for (size_t i = 0; i <= lines && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

}  // namespace

PostgresCluster& PostgresCluster::shared() {
  static PostgresCluster cluster;
  return cluster;
}

PostgresCluster::PostgresCluster() : bin_dir_(find_bin_dir()) {
  std::string pattern = "/tmp/ssekit-pg-" + std::string(6, 'X');  // mkdtemp's template
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;

  // The server refuses to run as root: as root, the folder goes to postgres and so do we.
  if (geteuid() == 0) {
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      throw std::runtime_error(
          "running as root, and there is no postgres user to run "
          "PostgreSQL as (install Debian's postgresql package)");
    }
    if (chown(dir_.c_str(), user->pw_uid, user->pw_gid) != 0) {
      throw std::runtime_error("cannot give " + dir_ + " to the postgres user");
    }
    run_as_ = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  }

  // initdb takes seconds and every test process needs a cluster: one initdb'd template per
  // machine and server version is copied instead.
  const std::string data = dir_ + "/data";
  const auto copy = run_command({"/bin/cp", "-a", template_dir() + "/data", data});
  if (copy.status != 0)
    throw std::runtime_error("cannot copy the cluster template: " + copy.output);
  start_watchdog();
  start();
}

PostgresCluster::~PostgresCluster() {
  try {
    stop();
  } catch (...) {
    // Destructors do not throw; the watchdog still removes the server below.
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (watchdog_fd_ >= 0) {
    // One byte: "all done, nothing to clean up".
    [[maybe_unused]] const ssize_t n = write(watchdog_fd_, "x", 1);
    close(watchdog_fd_);
  }
}

std::string PostgresCluster::template_dir() const {
  const std::string version = fs::path(bin_dir_).parent_path().filename().string();
  // The name changes with the initdb options below, so an old template is never reused.
  const std::string dir =
      "/tmp/ssekit-pg-template-" + version + "-" + std::to_string(geteuid()) + "-wal1";
  if (fs::exists(dir + "/data/PG_VERSION")) return dir;

  // Made once, under a lock, in a scratch folder renamed into place when complete: a test
  // process that dies halfway leaves no half-made template behind.
  const int lock = open((dir + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + dir);
  struct Unlock {
    int fd;
    ~Unlock() { close(fd); }
  } unlock{lock};
  if (fs::exists(dir + "/data/PG_VERSION")) return dir;

  const std::string scratch = dir + ".tmp-" + std::to_string(getpid());
  std::error_code ec;
  fs::remove_all(scratch, ec);
  fs::create_directory(scratch);
  if (!run_as_.empty()) {
    const passwd* user = getpwnam("postgres");
    if (chown(scratch.c_str(), user->pw_uid, user->pw_gid) != 0) {
      throw std::runtime_error("cannot give " + scratch + " to the postgres user");
    }
  }
  std::vector<std::string> initdb = run_as_;
  for (const std::string& arg :
       {bin_dir_ + "/initdb", std::string("-D"), scratch + "/data", std::string("-U"),
        std::string("postgres"), std::string("-A"), std::string("trust"), std::string("-E"),
        std::string("UTF8"), std::string("--locale=C"), std::string("--no-sync"),
        std::string("--no-instructions"),
        // 1 MB WAL segments instead of 16: less to copy for every test process.
        std::string("--wal-segsize=1")}) {
    initdb.push_back(arg);
  }
  const auto result = run_command(initdb);
  if (result.status != 0) {
    fs::remove_all(scratch, ec);
    throw std::runtime_error("initdb failed:\n" + tail(result.output, 20));
  }
  fs::remove_all(dir, ec);
  fs::rename(scratch, dir);
  return dir;
}

void PostgresCluster::start_watchdog() {
  // A child that waits for the end of this process. If the process ends without saying it
  // cleaned up (a crash, a ctest timeout), the child stops the server and removes the folder.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> stop_cmd = run_as_;
  stop_cmd.push_back(bin_dir_ + "/pg_ctl");
  const std::string script = "\"$@\" -D '" + dir_ +
                             "/data' -m immediate -w stop >/dev/null 2>&1;"
                             " rm -rf '" +
                             dir_ + "'";
  std::vector<std::string> argv = {"/bin/sh", "-c", script, "sh"};
  argv.insert(argv.end(), stop_cmd.begin(), stop_cmd.end());
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);

  const pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here: the parent may have other threads.
    const int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, STDIN_FILENO);
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    setsid();  // out of the test's process group, so a signal to the group spares it
    char byte = 0;
    ssize_t n = 0;
    do {
      n = read(fds[0], &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) _exit(0);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[0]);
  watchdog_fd_ = fds[1];
}

void PostgresCluster::start() {
  if (running_) return;
  std::string log;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = free_port();
    std::vector<std::string> cmd = run_as_;
    const std::string options = "-p " + std::to_string(port_) + " -k " + dir_ +
                                " -c listen_addresses=127.0.0.1 -c fsync=off"
                                " -c synchronous_commit=off -c full_page_writes=off"
                                " -c max_connections=200";
    for (const std::string& arg :
         {bin_dir_ + "/pg_ctl", std::string("-D"), dir_ + "/data", std::string("-l"),
          dir_ + "/server.log", std::string("-w"), std::string("-t"),
          std::string(kPgCtlWaitSeconds), std::string("-o"), options, std::string("start")}) {
      cmd.push_back(arg);
    }
    const auto result = run_command(cmd);
    if (result.status == 0) {
      running_ = true;
      return;
    }
    log = result.output + tail(read_file(dir_ + "/server.log"), 20);
  }
  throw std::runtime_error("PostgreSQL did not start (" + bin_dir_ + "/pg_ctl):\n" + log);
}

void PostgresCluster::stop() {
  if (!running_) return;
  std::vector<std::string> cmd = run_as_;
  for (const std::string& arg :
       {bin_dir_ + "/pg_ctl", std::string("-D"), dir_ + "/data", std::string("-m"),
        std::string("fast"), std::string("-w"), std::string("-t"), std::string(kPgCtlWaitSeconds),
        std::string("stop")}) {
    cmd.push_back(arg);
  }
  const auto result = run_command(cmd);
  running_ = false;
  if (result.status != 0) throw std::runtime_error("pg_ctl stop failed:\n" + result.output);
}

std::string PostgresCluster::url(const std::string& name) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

std::string PostgresCluster::create_database() {
  const std::string name =
      "ssekit_test_" + std::to_string(getpid()) + "_" + std::to_string(++databases_);
  PgConnection admin(url("postgres"));
  admin.exec("CREATE DATABASE " + name);
  return url(name);
}

PgConnection::PgConnection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string error = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("cannot connect to " + url + ": " + error);
  }
}

PgConnection::~PgConnection() {
  PQfinish(conn_);
}

std::vector<std::vector<std::string>> PgConnection::exec(const std::string& sql,
                                                         const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params)
    values.push_back(p.c_str());
  std::unique_ptr<PGresult, void (*)(PGresult*)> result(
      PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                   nullptr, nullptr, 0),
      PQclear);
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("SQL failed: " + sql + ": " + PQresultErrorMessage(result.get()));
  }
  std::vector<std::vector<std::string>> rows;
  for (int r = 0; r < PQntuples(result.get()); ++r) {
    std::vector<std::string> row;
    for (int c = 0; c < PQnfields(result.get()); ++c) {
      row.emplace_back(PQgetvalue(result.get(), r, c),
                       static_cast<size_t>(PQgetlength(result.get(), r, c)));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string PgConnection::scalar(const std::string& sql, const std::vector<std::string>& params) {
  const auto rows = exec(sql, params);
  if (rows.empty() || rows[0].empty()) throw std::runtime_error("no value from: " + sql);
  return rows[0][0];
}

}  // namespace ssekit::test
