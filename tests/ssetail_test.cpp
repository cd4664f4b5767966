// Integration tests of the ssetail command: they run the built binary against event streams
// served on 127.0.0.1 (or fed to its stdin) and check what a user sees: stdout byte for byte,
// the lines on stderr and the exit status.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// Longest any one ssetail run may take before the test kills it and fails. Every run here ends
/// in well under a second; the margin is for a loaded two-core CI machine.
constexpr auto kRunLimit = 15s;

/// How long a server keeps a stream open, at most, when a test expects ssetail to end it.
constexpr std::chrono::milliseconds kHoldLimit{10000};

/// Step of the polling loops that wait for a child's output or exit.
constexpr int kPumpStepMs = 20;

/// The exit status a test reports when ssetail had to be killed after its deadline.
constexpr int kTimedOut = -1;
/// Added to a signal number when ssetail died of that signal, to tell it from an exit status.
constexpr int kKilledBySignal = 1000;

using Environment = std::vector<std::pair<std::string, std::string>>;

/// Variables that change ssetail's behaviour; removed unless a test sets them.
const char* const kControlledVariables[] = {"SSETAIL_BEARER=", "NO_COLOR=", "TERM="};

void ignore_sigpipe_once() {
  // Writing to the stdin of an ssetail that already exited must fail with EPIPE, not kill us.
  static const bool ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)ignored;
}

void set_cloexec(int fd) {
  ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

/// One running ssetail with pipes on stdin, stdout and stderr (or a terminal on stdout).
class Ssetail {
 public:
  /// Starts the binary with `args`. With `terminal_fd` set, stdout is that descriptor (a pty
  /// slave) and `terminal_master` is read instead of a pipe.
  explicit Ssetail(const std::vector<std::string>& args, const Environment& environment = {},
                   int terminal_fd = -1, int terminal_master = -1) {
    ignore_sigpipe_once();
    int in[2];
    int out[2] = {-1, -1};
    int err[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    if (terminal_fd < 0) REQUIRE(::pipe2(out, O_CLOEXEC) == 0);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, terminal_fd >= 0 ? terminal_fd : out[1],
                                     STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    // The test's server sockets must not live on in the child: a copy there would keep
    // connections the server closed open.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);

    std::vector<std::string> argv_text{SSETAIL_BINARY};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_text)
      argv.push_back(arg.data());
    argv.push_back(nullptr);

    std::vector<std::string> env_text = child_environment(environment);
    std::vector<char*> envp;
    for (std::string& entry : env_text)
      envp.push_back(entry.data());
    envp.push_back(nullptr);

    const int spawned =
        ::posix_spawn(&pid_, SSETAIL_BINARY, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(err[1]);
    if (terminal_fd < 0) ::close(out[1]);
    REQUIRE(spawned == 0);

    in_ = in[1];
    out_ = terminal_fd >= 0 ? terminal_master : out[0];
    err_ = err[0];
  }

  ~Ssetail() {
    if (!exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : {in_, out_, err_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  Ssetail(const Ssetail&) = delete;
  Ssetail& operator=(const Ssetail&) = delete;

  void send(const std::string& bytes) {
    std::size_t sent = 0;
    while (in_ >= 0 && sent < bytes.size()) {
      const ssize_t n = ::write(in_, bytes.data() + sent, bytes.size() - sent);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;  // ssetail is gone; the test's checks will say why
      sent += static_cast<std::size_t>(n);
    }
  }

  void close_stdin() { close_fd(in_); }

  /// Stops reading stdout, as `ssetail URL | head -1` does once head has its line.
  void close_stdout() { close_fd(out_); }

  /// Reads output until stdout contains `needle` or `limit` passes. True when it does.
  bool wait_for_stdout(const std::string& needle, Clock::duration limit = kRunLimit) {
    const auto deadline = Clock::now() + limit;
    while (out_text_.find(needle) == std::string::npos && Clock::now() < deadline) {
      pump();
      if (out_ < 0 && err_ < 0) break;
    }
    return out_text_.find(needle) != std::string::npos;
  }

  /// Reads output until ssetail exits, killing it after `limit`. Returns the exit status,
  /// kKilledBySignal + N for death by signal N, or kTimedOut.
  int wait(Clock::duration limit = kRunLimit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      pump();
      if (!exited_) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          exited_ = true;
          status_ = WIFEXITED(status) ? WEXITSTATUS(status) : kKilledBySignal + WTERMSIG(status);
        }
      }
      if (exited_ && out_ < 0 && err_ < 0) return status_;
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    exited_ = true;
    return kTimedOut;
  }

  void signal(int number) { ::kill(pid_, number); }

  const std::string& out() const { return out_text_; }
  const std::string& err() const { return err_text_; }

  std::vector<std::string> err_lines() const {
    std::vector<std::string> lines;
    std::istringstream text(err_text_);
    for (std::string line; std::getline(text, line);)
      lines.push_back(line);
    return lines;
  }

 private:
  static std::vector<std::string> child_environment(const Environment& environment) {
    std::vector<std::string> entries;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string text = *entry;
      bool controlled = false;
      for (const char* prefix : kControlledVariables) {
        controlled = controlled || text.rfind(prefix, 0) == 0;
      }
      if (!controlled) entries.push_back(text);
    }
    for (const auto& [name, value] : environment)
      entries.push_back(name + "=" + value);
    return entries;
  }

  void close_fd(int& fd) {
    if (fd < 0) return;
    ::close(fd);
    fd = -1;
  }

  /// Waits up to one step for output and appends what arrived; closes a descriptor at its end
  /// (EIO is how a pty master reports that the child closed the terminal).
  void pump() {
    pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, kPumpStepMs);
    if (ready <= 0) return;
    read_from(fds[0], out_, out_text_);
    read_from(fds[1], err_, err_text_);
  }

  static void read_from(const pollfd& polled, int& fd, std::string& text) {
    if (fd < 0 || (polled.revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
    char chunk[4096];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      text.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      ::close(fd);
      fd = -1;
    }
  }

  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool exited_ = false;
  int status_ = kTimedOut;
  std::string out_text_;
  std::string err_text_;
};

struct Run {
  int status;
  std::string out;
  std::string err;
  std::vector<std::string> err_lines;
};

/// Runs ssetail to its end with `input` on stdin.
Run run_ssetail(const std::vector<std::string>& args, const std::string& input = {},
                const Environment& environment = {}) {
  Ssetail ssetail(args, environment);
  ssetail.send(input);
  ssetail.close_stdin();
  const int status = ssetail.wait();
  return {status, ssetail.out(), ssetail.err(), ssetail.err_lines()};
}

/// What a server saw of one request.
struct SeenRequest {
  std::string method;
  std::string path;
  std::string query;
  std::string last_event_id;
  std::string authorization;
  std::string cookie;
  std::string api_key;
  std::string body;
};

/// A cpp-httplib server on 127.0.0.1 and a free port. Register handlers on http(), then
/// start(). Stream handlers send their events and hold the response open until the test ends.
class StreamServer {
 public:
  /// A plain HTTP server, or HTTPS with the PEM `certificate` and `key` when they are given.
  explicit StreamServer(const std::string& certificate = {}, const std::string& key = {})
      : server_(certificate.empty()
                    ? std::make_unique<httplib::Server>()
                    : std::make_unique<httplib::SSLServer>(certificate.c_str(), key.c_str())),
        scheme_(certificate.empty() ? "http" : "https") {
    port_ = server_->bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
  }

  ~StreamServer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    stop_.notify_all();
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Server& http() { return *server_; }

  void start() {
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    const auto deadline = Clock::now() + kRunLimit;
    while (!server_->is_running() && Clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    REQUIRE(server_->is_running());
  }

  std::string url(const std::string& path) const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_) + path;
  }

  /// Records the request and answers it with `body` as text/event-stream, then keeps the
  /// response open for `hold` (or until the server stops) before ending it.
  void stream(const httplib::Request& request, httplib::Response& response, std::string body,
              std::chrono::milliseconds hold = kHoldLimit) {
    record(request);
    response.set_chunked_content_provider(
        "text/event-stream", [this, body, hold](std::size_t, httplib::DataSink& sink) {
          if (!body.empty() && !sink.write(body.data(), body.size())) return false;
          std::unique_lock<std::mutex> lock(mutex_);
          stop_.wait_for(lock, hold, [this] { return stopping_; });
          lock.unlock();
          sink.done();
          return true;
        });
  }

  void record(const httplib::Request& request) {
    SeenRequest seen{request.method,
                     request.path,
                     request.get_param_value("token"),
                     request.get_header_value("Last-Event-ID"),
                     request.get_header_value("Authorization"),
                     request.get_header_value("Cookie"),
                     request.get_header_value("X-Api-Key"),
                     request.body};
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.push_back(std::move(seen));
  }

  std::vector<SeenRequest> seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::string scheme_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::vector<SeenRequest> seen_;
};

const char* const kHint = "Try 'ssetail --help' for more information.";

/// A stderr line of --verbose: a UTC timestamp with milliseconds, then `text` (a regex).
std::regex verbose_line(const std::string& text) {
  return std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )" + text);
}

bool any_line_matches(const std::vector<std::string>& lines, const std::regex& pattern) {
  for (const std::string& line : lines) {
    if (std::regex_match(line, pattern)) return true;
  }
  return false;
}

std::string temp_path(const std::string& name) {
  return "/tmp/ssetail_test_" + std::to_string(::getpid()) + "_" + name;
}

/// Runs a tool to its end with no input or output, killing it after kRunLimit. True when it
/// exited 0.
bool run_tool(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return false;

  const auto deadline = Clock::now() + kRunLimit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPumpStepMs));
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// A self-signed certificate for 127.0.0.1 and its key, made with the openssl command and
/// removed at the end of the test.
struct SelfSignedCertificate {
  std::string certificate = temp_path("cert.pem");
  std::string key = temp_path("key.pem");

  SelfSignedCertificate() {
    constexpr const char* kValidDays = "1";  // lives for one test run
    REQUIRE(run_tool({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", certificate,
                      "-days", kValidDays, "-subj", "/CN=127.0.0.1", "-addext",
                      "subjectAltName=IP:127.0.0.1"}));
  }

  ~SelfSignedCertificate() {
    std::remove(certificate.c_str());
    std::remove(key.c_str());
  }
};

}  // namespace

TEST_CASE("NDJSON from --json has exactly the keys event, data and id, byte for byte",
          "[ssetail]") {
  StreamServer server;
  server.http().Get("/feed", [&](const httplib::Request& request, httplib::Response& response) {
    server.stream(request, response,
                  "id: 1\nevent: greeting\ndata: h\xc3\xa9llo \xe2\x9c\x93\n\n"
                  ": a comment is not an event\n"
                  "data: line one\ndata: line two\n\n"
                  "data: quote \" backslash \\ tab \t bell \x07\n\n"
                  "id\ndata: bad \xff byte\n\n",
                  0ms);
  });
  server.start();

  const Run run = run_ssetail({"--json", "--no-reconnect", server.url("/feed")});

  CHECK(run.status == 0);
  CHECK(run.out ==
        "{\"event\":\"greeting\",\"data\":\"h\xc3\xa9llo \xe2\x9c\x93\",\"id\":\"1\"}\n"
        "{\"event\":\"message\",\"data\":\"line one\\nline two\",\"id\":\"1\"}\n"
        "{\"event\":\"message\",\"data\":\"quote \\\" backslash \\\\ tab \\t bell \\u0007\","
        "\"id\":\"1\"}\n"
        "{\"event\":\"message\",\"data\":\"bad \xef\xbf\xbd byte\",\"id\":\"\"}\n");
  CHECK(run.err.empty());
}

TEST_CASE("Without --json an event is a type and id line, the data, and a blank line",
          "[ssetail]") {
  SECTION("readable form when stdout is not a terminal: no colour") {
    const Run run = run_ssetail({"-"}, "event: tick\nid: 7\ndata: a\ndata: b\n\ndata: c\n\n");
    CHECK(run.status == 0);
    CHECK(run.out == "tick id=7\na\nb\n\nmessage id=7\nc\n\n");
  }
  SECTION("an event that never had an id has no id on its header line") {
    const Run run = run_ssetail({"-"}, "data: plain\n\n");
    CHECK(run.out == "message\nplain\n\n");
  }
  SECTION("--format fills {event}, {data} and {id} and ends each event with a newline") {
    const Run run = run_ssetail({"--format", "{id}\\t{event}: {data} {{x}", "-"},
                                "event: tick\nid: 7\ndata: a\n\n");
    CHECK(run.status == 0);
    CHECK(run.out == "7\ttick: a {x}\n");
  }
}

TEST_CASE("The --event filter prints only the listed types", "[ssetail]") {
  const std::string input =
      "event: a\ndata: 1\n\nevent: b\ndata: 2\n\ndata: 3\n\nevent: c\ndata: 4\n\n";

  SECTION("one type") {
    CHECK(run_ssetail({"--format", "{data}", "--event", "b", "-"}, input).out == "2\n");
  }
  SECTION("repeated, and an event without a type is a message") {
    const Run run =
        run_ssetail({"--format", "{data}", "--event", "a", "--event=message", "-"}, input);
    CHECK(run.status == 0);
    CHECK(run.out == "1\n3\n");
  }
}

TEST_CASE("After --max-events N printed events ssetail exits 0", "[ssetail]") {
  StreamServer server;
  server.http().Get("/feed", [&](const httplib::Request& request, httplib::Response& response) {
    // The stream stays open: only --max-events can end this run in time.
    server.stream(request, response, "data: 1\n\nevent: skip\ndata: x\n\ndata: 2\n\ndata: 3\n\n");
  });
  server.start();

  const auto started = Clock::now();
  const Run run =
      run_ssetail({"-n", "2", "--event", "message", "--format", "{data}", server.url("/feed")});

  CHECK(run.status == 0);
  CHECK(run.out == "1\n2\n");
  CHECK(run.err.empty());
  CHECK(Clock::now() - started < kHoldLimit);
}

TEST_CASE("ssetail - parses standard input and exits 0 at its end", "[ssetail]") {
  SECTION("events split across writes; an event cut off by the end is dropped") {
    Ssetail ssetail({"--json", "-"});
    ssetail.send("id: 4\nda");
    ssetail.send("ta: one\r\n\r");
    REQUIRE(ssetail.wait_for_stdout("one"));
    ssetail.send("\ndata: two\n\ndata: never finished\n");
    ssetail.close_stdin();
    CHECK(ssetail.wait() == 0);
    CHECK(ssetail.out() ==
          "{\"event\":\"message\",\"data\":\"one\",\"id\":\"4\"}\n"
          "{\"event\":\"message\",\"data\":\"two\",\"id\":\"4\"}\n");
  }
  SECTION("--last-event-id is the id of events before the first id field") {
    const Run run = run_ssetail({"--format", "{id}", "--last-event-id", "41", "-"},
                                "data: a\n\nid: 42\ndata: b\n\n");
    CHECK(run.out == "41\n42\n");
  }
  SECTION("empty input") {
    const Run run = run_ssetail({"-"});
    CHECK(run.status == 0);
    CHECK(run.out.empty());
    CHECK(run.err.empty());
  }
}

TEST_CASE("HTTP 204 ends ssetail quietly with status 0", "[ssetail]") {
  StreamServer server;
  server.http().Get("/done", [&](const httplib::Request& request, httplib::Response& response) {
    server.record(request);
    response.status = 204;
  });
  server.start();

  const Run run = run_ssetail({server.url("/done")});

  CHECK(run.status == 0);
  CHECK(run.out.empty());
  CHECK(run.err.empty());
  CHECK(server.seen().size() == 1);
}

TEST_CASE("A status that is not retried fails with status 1 and names it", "[ssetail]") {
  StreamServer server;
  server.http().Get("/missing", [&](const httplib::Request& request, httplib::Response& response) {
    server.record(request);
    response.status = 404;
    response.set_content("no such feed", "text/plain");
  });
  server.http().Get("/secret", [&](const httplib::Request& request, httplib::Response& response) {
    server.record(request);
    response.status = 401;
  });
  server.start();

  SECTION("404 is fatal at once") {
    const Run run = run_ssetail({server.url("/missing")});
    CHECK(run.status == 1);
    CHECK(run.out.empty());
    CHECK(run.err == "ssetail: GET " + server.url("/missing") + ": HTTP 404 Not Found\n");
    CHECK(server.seen().size() == 1);
  }
  SECTION("401 points at the credential flags and never shows the token") {
    const Run run = run_ssetail({"--bearer", "sekrit-token", server.url("/secret")});
    CHECK(run.status == 1);
    CHECK(run.err == "ssetail: GET " + server.url("/secret") +
                         ": HTTP 401 Unauthorized (check --bearer, --cookie or --header)\n");
  }
}

TEST_CASE("A response that is not text/event-stream fails and names the type", "[ssetail]") {
  StreamServer server;
  server.http().Get("/page", [&](const httplib::Request& request, httplib::Response& response) {
    server.record(request);
    response.set_content("<html></html>", "text/html; charset=utf-8");
  });
  server.start();

  const Run run = run_ssetail({server.url("/page")});

  CHECK(run.status == 1);
  CHECK(run.out.empty());
  CHECK(run.err == "ssetail: GET " + server.url("/page") +
                       ": expected Content-Type text/event-stream, got text/html\n");
}

TEST_CASE("A 503 is retried after the backoff and the stream goes on", "[ssetail]") {
  std::atomic<int> calls{0};  // before the server, whose handler uses it until it stops
  StreamServer server;
  server.http().Get("/flaky", [&](const httplib::Request& request, httplib::Response& response) {
    if (calls.fetch_add(1) == 0) {
      server.record(request);
      response.status = 503;
      return;
    }
    server.stream(request, response, "data: back\n\n");
  });
  server.start();

  const Run run = run_ssetail(
      {"--backoff-initial", "50ms", "-n", "1", "--format", "{data}", server.url("/flaky")});

  CHECK(run.status == 0);
  CHECK(run.out == "back\n");
  REQUIRE(run.err_lines.size() == 1);
  CHECK(std::regex_match(
      run.err_lines[0],
      std::regex(R"(ssetail: reconnecting in \d+ ms after HTTP 503 Service Unavailable)")));
  CHECK(server.seen().size() == 2);

  SECTION("--quiet keeps the reconnect notice off stderr") {
    calls = 0;
    const Run quiet = run_ssetail(
        {"-q", "--backoff-initial", "50ms", "-n", "1", "--format", "{data}", server.url("/flaky")});
    CHECK(quiet.status == 0);
    CHECK(quiet.out == "back\n");
    CHECK(quiet.err.empty());
  }
}

TEST_CASE("When --max-retries runs out ssetail exits 1 with the last cause", "[ssetail]") {
  StreamServer server;
  server.http().Get("/down", [&](const httplib::Request& request, httplib::Response& response) {
    server.record(request);
    response.status = 503;
  });
  server.start();

  const Run run =
      run_ssetail({"-q", "--backoff-initial", "10ms", "--max-retries", "2", server.url("/down")});

  CHECK(run.status == 1);
  CHECK(run.err == "ssetail: GET " + server.url("/down") +
                       ": gave up after 2 reconnect attempts (--max-retries); the last failed "
                       "with HTTP 503 Service Unavailable\n");
  CHECK(server.seen().size() == 3);  // the first attempt and two retries

  SECTION("--max-retries 0 gives up at the first failure") {
    const Run once = run_ssetail({"-q", "--max-retries", "0", server.url("/down")});
    CHECK(once.status == 1);
    CHECK(server.seen().size() == 4);
  }
}

TEST_CASE("A stalled stream is caught by --idle-timeout and resumed without duplicates",
          "[ssetail]") {
  StreamServer server;
  server.http().Get("/stall", [&](const httplib::Request& request, httplib::Response& response) {
    if (request.get_header_value("Last-Event-ID").empty()) {
      server.stream(request, response, "id: 1\ndata: first\n\n");  // then silence
    } else {
      server.stream(request, response, "id: 2\ndata: second\n\n");
    }
  });
  server.start();

  const Run run = run_ssetail({"-v", "--json", "--idle-timeout", "300ms", "--backoff-initial",
                               "20ms", "-n", "2", server.url("/stall")});

  CHECK(run.status == 0);
  CHECK(run.out ==
        "{\"event\":\"message\",\"data\":\"first\",\"id\":\"1\"}\n"
        "{\"event\":\"message\",\"data\":\"second\",\"id\":\"2\"}\n");
  CHECK(any_line_matches(run.err_lines,
                         verbose_line(R"(reconnecting in \d+ ms after a stale link: nothing )"
                                      R"(received for 300 ms)")));
  const auto seen = server.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].last_event_id == "1");
}

TEST_CASE("Verbose mode prints one timestamped line per state change", "[ssetail]") {
  StreamServer server;
  server.http().Get("/feed", [&](const httplib::Request& request, httplib::Response& response) {
    server.stream(request, response, "data: x\n\n", 0ms);
  });
  server.start();

  const Run run = run_ssetail({"-v", "--no-reconnect", "--format", "{data}", server.url("/feed")});

  CHECK(run.status == 0);
  CHECK(run.out == "x\n");
  REQUIRE(run.err_lines.size() == 3);
  CHECK(std::regex_match(run.err_lines[0], verbose_line("connecting: GET " + server.url("/feed"))));
  CHECK(std::regex_match(run.err_lines[1], verbose_line("open")));
  CHECK(std::regex_match(run.err_lines[2], verbose_line("closed: the server ended the stream")));
}

TEST_CASE("Credentials reach the server and never stderr", "[ssetail]") {
  StreamServer server;
  server.http().Get("/private", [&](const httplib::Request& request, httplib::Response& response) {
    server.stream(request, response, "data: ok\n\n", 0ms);
  });
  server.http().Post("/query", [&](const httplib::Request& request, httplib::Response& response) {
    server.stream(request, response, "data: posted\n\n", 0ms);
  });
  server.start();

  SECTION("--bearer, --cookie, --header and --query-token") {
    const Run run = run_ssetail({"-v", "--no-reconnect", "--bearer", "bearer-secret-1", "--cookie",
                                 "session=cookie-secret-2", "-H", "X-Api-Key: header-secret-3",
                                 "--query-token", "token=query-secret-4", server.url("/private")});
    CHECK(run.status == 0);
    const auto seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].authorization == "Bearer bearer-secret-1");
    CHECK(seen[0].cookie == "session=cookie-secret-2");
    CHECK(seen[0].api_key == "header-secret-3");
    CHECK(seen[0].query == "query-secret-4");
    CHECK(run.err.find("secret") == std::string::npos);
    CHECK(run.err.find("connecting: GET " + server.url("/private?token=[redacted]")) !=
          std::string::npos);
  }
  SECTION("SSETAIL_BEARER when --bearer is absent") {
    const Run run = run_ssetail({"--no-reconnect", server.url("/private")}, {},
                                {{"SSETAIL_BEARER", "env-secret"}});
    CHECK(run.status == 0);
    REQUIRE(server.seen().size() == 1);
    CHECK(server.seen()[0].authorization == "Bearer env-secret");
  }
  SECTION("--data sends a body with POST; @FILE reads it from a file") {
    const std::string path = temp_path("body");
    std::ofstream(path) << "{\"q\":1}";
    const Run run = run_ssetail({"--no-reconnect", "--data", "@" + path, server.url("/query")});
    std::remove(path.c_str());
    CHECK(run.status == 0);
    CHECK(run.out == "message\nposted\n\n");
    REQUIRE(server.seen().size() == 1);
    CHECK(server.seen()[0].method == "POST");
    CHECK(server.seen()[0].body == "{\"q\":1}");
  }
}

TEST_CASE("A --resume file continues after the last printed event with no duplicate", "[ssetail]") {
  StreamServer server;
  server.http().Get("/log", [&](const httplib::Request& request, httplib::Response& response) {
    // Five numbered events; a client that sends Last-Event-ID n gets those after n.
    const std::string last = request.get_header_value("Last-Event-ID");
    const int from = last.empty() ? 1 : std::atoi(last.c_str()) + 1;
    std::string body;
    for (int id = from; id <= 5; ++id) {
      body += "id: " + std::to_string(id) + "\ndata: event " + std::to_string(id) + "\n\n";
    }
    server.stream(request, response, body);
  });
  server.start();
  const std::string path = temp_path("resume");
  std::remove(path.c_str());

  const Run first =
      run_ssetail({"--resume", path, "-n", "2", "--format", "{data}", server.url("/log")});
  std::string stored;
  std::getline(std::ifstream(path), stored);
  const Run second =
      run_ssetail({"--resume", path, "-n", "2", "--format", "{data}", server.url("/log")});
  std::remove(path.c_str());

  CHECK(first.status == 0);
  CHECK(first.out == "event 1\nevent 2\n");
  CHECK(stored == "2");
  CHECK(second.status == 0);
  CHECK(second.out == "event 3\nevent 4\n");
  const auto seen = server.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].last_event_id.empty());
  CHECK(seen[1].last_event_id == "2");
}

TEST_CASE(
    "Events that arrive together stop exactly at --max-events, and --resume keeps the "
    "id of the last one printed",
    "[ssetail]") {
  const std::string path = temp_path("batch_resume");
  std::remove(path.c_str());
  std::string input;
  for (int id = 1; id <= 50; ++id)
    input += "id: " + std::to_string(id) + "\ndata: x\n\n";

  const Run run = run_ssetail({"--resume", path, "-n", "3", "--format", "{id}", "-"}, input);
  std::string stored;
  std::getline(std::ifstream(path), stored);
  std::remove(path.c_str());

  CHECK(run.status == 0);
  CHECK(run.out == "1\n2\n3\n");
  CHECK(stored == "3");
}

TEST_CASE("A --resume file that does not hold one id line is an error, not a fresh start",
          "[ssetail]") {
  const std::string path = temp_path("bad_resume");
  std::ofstream(path) << "12\n13\n";
  const Run run = run_ssetail({"--resume", path, "-"}, "data: x\n\n");
  std::remove(path.c_str());

  CHECK(run.status == 1);
  CHECK(run.out.empty());
  CHECK(run.err == "ssetail: --resume file '" + path + "' does not hold a single event id line\n");
}

TEST_CASE("The method from -X and the body from --data @- reach the server", "[ssetail]") {
  StreamServer server;
  server.http().Put("/watch", [&](const httplib::Request& request, httplib::Response& response) {
    server.stream(request, response, "data: watching\n\n", 0ms);
  });
  server.start();

  const Run run = run_ssetail(
      {"-X", "PUT", "--data", "@-", "--no-reconnect", "--format", "{data}", server.url("/watch")},
      "orders");

  CHECK(run.status == 0);
  CHECK(run.out == "watching\n");
  const auto seen = server.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "PUT");
  CHECK(seen[0].body == "orders");
}

TEST_CASE("A line over the parser's limit is skipped with a notice and the stream goes on",
          "[ssetail]") {
  constexpr std::size_t kOverOneMebibyte = (std::size_t{1} << 20) + 1;
  const std::string input = "data: " + std::string(kOverOneMebibyte, 'a') + "\n\ndata: after\n\n";

  const Run run = run_ssetail({"--format", "{data}", "-"}, input);

  CHECK(run.status == 0);
  CHECK(run.out == "after\n");
  REQUIRE(run.err_lines.size() == 1);
  CHECK(std::regex_match(run.err_lines[0],
                         std::regex("ssetail: skipped part of the input: .*line over.*")));
}

TEST_CASE("Bad usage exits 2 with the reason and a hint to --help", "[ssetail]") {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--nope", "-"}, "ssetail: unknown option '--nope'"},
      {{"-Z", "-"}, "ssetail: unknown option '-Z'"},
      {{"--idle-timeout", "5", "-"},
       "ssetail: bad --idle-timeout '5': expected a number with a unit: 250ms, 2s, 1m"},
      {{"--backoff-max", "2 s", "-"},
       "ssetail: bad --backoff-max '2 s': expected a number with a unit: 250ms, 2s, 1m"},
      {{"ftp://example.com/feed"},
       "ssetail: bad URL: expected an absolute http:// or https:// URL with a host"},
      {{}, "ssetail: missing URL (or - to read an event stream from standard input)"},
      {{"-", "--max-events"}, "ssetail: option --max-events needs a value"},
      {{"-n", "many", "-"}, "ssetail: bad --max-events 'many': expected a count of 1 or more"},
      {{"--json", "--format", "{data}", "-"}, "ssetail: --json and --format cannot be combined"},
      {{"--format", "{nope}", "-"},
       "ssetail: bad --format: unknown placeholder '{nope}'; use {event}, {data}, {id}, {time} "
       "or {{ for a brace"},
      {{"-H", "no colon here", "-"}, "ssetail: bad --header: expected 'Name: value'"},
      {{"--cacert", "/nonexistent/ca.pem", "-"},
       "ssetail: cannot read --cacert '/nonexistent/ca.pem': No such file or directory"},
      {{"--backoff-initial", "2s", "--backoff-max", "1s", "-"},
       "ssetail: --backoff-max must not be below --backoff-initial"},
      {{"http://a/", "http://b/"},
       "ssetail: expected one URL but got 2 arguments (quote a header value that holds spaces)"},
  };

  for (const Case& c : cases) {
    const Run run = run_ssetail(c.args);
    INFO("message: " << c.message);
    CHECK(run.status == 2);
    CHECK(run.out.empty());
    CHECK(run.err == c.message + "\n" + kHint + "\n");
  }

  SECTION("a URL that only the client can refuse still gets the hint") {
    const Run run = run_ssetail({"http://127.0.0.1:99999/feed"});
    CHECK(run.status == 2);
    REQUIRE(run.err_lines.size() == 2);
    CHECK(run.err_lines[0].rfind("ssetail: GET http://127.0.0.1:99999/feed: ", 0) == 0);
    CHECK(run.err_lines[1] == kHint);
  }
  SECTION("a mistyped secret flag does not echo its value") {
    const Run run = run_ssetail({"--bearer-token=hunter2", "-"});
    CHECK(run.status == 2);
    CHECK(run.err == std::string("ssetail: unknown option '--bearer-token'\n") + kHint + "\n");
  }
}

TEST_CASE("Help and version go to stdout with status 0", "[ssetail]") {
  const Run help = run_ssetail({"--help"});
  CHECK(help.status == 0);
  CHECK(help.out.rfind("Usage: ssetail [options] URL\n", 0) == 0);
  CHECK(help.out.find("--query-token NAME=TOKEN") != std::string::npos);
  for (const char* option : {"--header",        "--bearer",
                             "--cookie",        "--query-token",
                             "--method",        "--data",
                             "--last-event-id", "--resume",
                             "--event",         "--max-events",
                             "--json",          "--format",
                             "--idle-timeout",  "--backoff-initial",
                             "--backoff-max",   "--max-retries",
                             "--no-reconnect",  "--cacert",
                             "--insecure",      "--http1.1",
                             "--http2",         "--verbose",
                             "--quiet",         "--help",
                             "--version"}) {
    INFO("option " << option);
    CHECK(help.out.find(option) != std::string::npos);
  }
  // It fits an 80-column terminal, and holds no stray control character.
  constexpr std::size_t kTerminalColumns = 80;
  std::istringstream lines(help.out);
  for (std::string line; std::getline(lines, line);) {
    INFO("line: " << line);
    CHECK(line.size() < kTerminalColumns);
    CHECK(line.find('\t') == std::string::npos);
  }

  const Run version = run_ssetail({"--version"});
  CHECK(version.status == 0);
  CHECK(std::regex_match(version.out, std::regex(R"(ssetail \d+\.\d+\.\d+ \(ssekit .+\)\n)")));
}

TEST_CASE("A reader that goes away ends ssetail quietly with status 0", "[ssetail]") {
  Ssetail ssetail({"--format", "{data}", "-"});
  ssetail.send("data: 1\n\n");
  REQUIRE(ssetail.wait_for_stdout("1\n"));
  ssetail.close_stdout();

  // Events keep coming; the first write after the reader left fails with EPIPE.
  for (int i = 0; i < 3; ++i)
    ssetail.send("data: more\n\n");
  ssetail.close_stdin();

  CHECK(ssetail.wait() == 0);
  CHECK(ssetail.err().empty());
}

TEST_CASE("A reader that goes away while following a URL ends ssetail with status 0", "[ssetail]") {
  // Declared before the server: its handler may still be reading it while the test unwinds.
  std::atomic<bool> test_done{false};
  StreamServer server;
  server.http().Get("/firehose", [&](const httplib::Request&, httplib::Response& response) {
    response.set_chunked_content_provider(
        "text/event-stream", [&test_done](std::size_t, httplib::DataSink& sink) {
          // An event every 20 ms, the pace of the stream rather than a synchronisation; at most
          // 500 of them (10 s), far more than the test needs.
          constexpr int kMaxEvents = 500;
          for (int i = 0; i < kMaxEvents && !test_done; ++i) {
            const std::string event = "data: " + std::to_string(i) + "\n\n";
            if (!sink.write(event.data(), event.size())) return false;
            std::this_thread::sleep_for(20ms);
          }
          sink.done();
          return true;
        });
  });
  server.start();

  Ssetail ssetail({"--format", "{data}", server.url("/firehose")});
  REQUIRE(ssetail.wait_for_stdout("0\n"));
  ssetail.close_stdout();
  const int status = ssetail.wait();
  test_done = true;

  CHECK(status == 0);
  CHECK(ssetail.err().empty());
}

TEST_CASE("Ctrl-C exits 130 after what was printed", "[ssetail]") {
  StreamServer server;
  server.http().Get("/feed", [&](const httplib::Request& request, httplib::Response& response) {
    server.stream(request, response, "data: before\n\n");
  });
  server.start();

  SECTION("following a URL") {
    Ssetail ssetail({"--format", "{data}", server.url("/feed")});
    REQUIRE(ssetail.wait_for_stdout("before\n"));
    ssetail.signal(SIGINT);
    CHECK(ssetail.wait() == 130);
    CHECK(ssetail.out() == "before\n");
    CHECK(ssetail.err().empty());
  }
  SECTION("reading standard input") {
    Ssetail ssetail({"--format", "{data}", "-"});
    ssetail.send("data: before\n\n");
    REQUIRE(ssetail.wait_for_stdout("before\n"));
    ssetail.signal(SIGINT);
    CHECK(ssetail.wait() == 130);
    CHECK(ssetail.out() == "before\n");
  }
}

TEST_CASE("On a terminal the readable form is coloured and control bytes are shown", "[ssetail]") {
  int master = -1;
  int slave = -1;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  set_cloexec(master);
  set_cloexec(slave);

  Ssetail ssetail({"-"}, {{"TERM", "xterm"}}, slave, master);
  ::close(slave);  // the child holds its own copy; the master sees EIO once it exits
  ssetail.send("event: tick\nid: 7\ndata: hello \x1b[31mred\n\n");
  ssetail.close_stdin();

  CHECK(ssetail.wait() == 0);
  // The terminal turns each LF into CR LF.
  CHECK(ssetail.out() == "\x1b[1;36mtick\x1b[0m \x1b[2mid=7\x1b[0m\r\nhello ^[[31mred\r\n\r\n");
}

TEST_CASE("NO_COLOR turns colour off on a terminal", "[ssetail]") {
  int master = -1;
  int slave = -1;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  set_cloexec(master);
  set_cloexec(slave);

  Ssetail ssetail({"-"}, {{"TERM", "xterm"}, {"NO_COLOR", "1"}}, slave, master);
  ::close(slave);
  ssetail.send("event: tick\ndata: plain\n\n");
  ssetail.close_stdin();

  CHECK(ssetail.wait() == 0);
  CHECK(ssetail.out() == "tick\r\nplain\r\n\r\n");
}

TEST_CASE("TLS: an untrusted certificate is fatal and named, and --cacert and -k get past it",
          "[ssetail]") {
  const SelfSignedCertificate tls;
  StreamServer server(tls.certificate, tls.key);
  server.http().Get("/feed", [&](const httplib::Request& request, httplib::Response& response) {
    server.stream(request, response, "data: secure\n\n");
  });
  server.start();

  SECTION("the system trust store does not know the certificate") {
    const Run run = run_ssetail({"--format", "{data}", server.url("/feed")});
    CHECK(run.status == 1);
    CHECK(run.out.empty());
    REQUIRE(run.err_lines.size() == 1);
    CHECK(std::regex_match(
        run.err_lines[0], std::regex("ssetail: GET " + server.url("/feed") + ": .*certificate.*")));
  }
  SECTION("--cacert trusts it") {
    const Run run = run_ssetail(
        {"--cacert", tls.certificate, "-n", "1", "--format", "{data}", server.url("/feed")});
    CHECK(run.status == 0);
    CHECK(run.out == "secure\n");
  }
  SECTION("-k skips the check, here with --http1.1") {
    const Run run =
        run_ssetail({"-k", "--http1.1", "-n", "1", "--format", "{data}", server.url("/feed")});
    CHECK(run.status == 0);
    CHECK(run.out == "secure\n");
  }
}

TEST_CASE("Verbose output shows no credential, whatever the server answers",
          "[ssetail][security]") {
  // Distinctive values: a hit can only be a leak. Each ends in a marker the check looks for.
  const std::vector<std::string> markers = {"B9q2W7", "C4r8E1", "H6t3Y5", "Q2u7I9"};
  const std::vector<std::string> credentials = {"-v",
                                                "--bearer",
                                                "bearer-B9q2W7",
                                                "--cookie",
                                                "session=cookie-C4r8E1",
                                                "-H",
                                                "X-Api-Key: header-H6t3Y5",
                                                "--query-token",
                                                "token=query-Q2u7I9"};
  const auto with_credentials = [&](std::vector<std::string> args) {
    args.insert(args.begin(), credentials.begin(), credentials.end());
    return args;
  };

  StreamServer other;
  other.http().Get("/refuse", [&](const httplib::Request& request, httplib::Response& response) {
    other.record(request);
    response.status = 401;
  });
  other.start();
  StreamServer server;
  server.http().Get("/away", [&](const httplib::Request& request, httplib::Response& response) {
    server.record(request);
    response.set_redirect(other.url("/refuse"), 302);
  });
  std::atomic<int> calls{0};
  server.http().Get("/flaky", [&](const httplib::Request& request, httplib::Response& response) {
    if (calls.fetch_add(1) == 0) {
      server.record(request);
      response.status = 503;
      return;
    }
    server.stream(request, response, "data: back\n\n");
  });
  server.http().Get("/down", [&](const httplib::Request& request, httplib::Response& response) {
    server.record(request);
    response.status = 503;
  });
  server.start();

  std::vector<Run> runs;
  // A redirect to another origin that refuses: ssetail fails, and nothing followed it there.
  runs.push_back(run_ssetail(with_credentials({"--max-retries", "0", server.url("/away")})));
  CHECK(runs.back().status == 1);
  REQUIRE(other.seen().size() == 1);
  CHECK(other.seen()[0].authorization.empty());
  CHECK(other.seen()[0].cookie.empty());
  CHECK(other.seen()[0].api_key.empty());
  CHECK(other.seen()[0].query.empty());
  // A 503 that is retried, then the stream.
  runs.push_back(run_ssetail(with_credentials(
      {"--backoff-initial", "20ms", "-n", "1", "--format", "{data}", server.url("/flaky")})));
  CHECK(runs.back().status == 0);
  CHECK(runs.back().out == "back\n");
  // A 503 until the retries run out.
  runs.push_back(run_ssetail(
      with_credentials({"--backoff-initial", "10ms", "--max-retries", "2", server.url("/down")})));
  CHECK(runs.back().status == 1);

  for (const auto& run : runs) {
    CAPTURE(run.out, run.err);
    CHECK_FALSE(run.err.empty());  // verbose output was there to be searched
    for (const auto& marker : markers) {
      CHECK(run.out.find(marker) == std::string::npos);
      CHECK(run.err.find(marker) == std::string::npos);
    }
  }
  // The servers got the credentials on the origin, so their absence above means something.
  const auto seen = server.seen();
  REQUIRE_FALSE(seen.empty());
  CHECK(seen[0].authorization == "Bearer bearer-B9q2W7");
  CHECK(seen[0].query == "query-Q2u7I9");
}
