// harness.cpp: the service process, stream server, callback server and client handle that
// stand in for the conformance harness in the contract service's tests.
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <utility>

extern char** environ;

namespace ssekit::contract::test {
namespace {

/// How long the service may take to print its port.
constexpr std::chrono::seconds kStartTimeout{10};
/// Step of the loops that poll a descriptor or a child process until a deadline.
constexpr int kPollStepMs = 20;
/// Bytes taken per read of a request or of the service's stdout, both far smaller.
constexpr std::size_t kReadBytes = 4096;
/// Largest body the callback server accepts: a 16 MiB event plus its JSON envelope.
constexpr std::size_t kMaxCallbackBytes = std::size_t{64} << 20;
/// Worker threads of the callback server: the service keeps one connection per stream.
constexpr std::size_t kCallbackThreads = 8;
/// Pending connections the stream server lets wait: a scenario has one or two at a time.
constexpr int kBacklog = 16;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

/// Milliseconds left until `deadline`, at least 0 and at most one poll step.
int poll_step_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, kPollStepMs));
}

/// Parses a request line and header lines into `request`. False when malformed.
bool parse_head(const std::string& head, StreamRequest& request) {
  std::size_t line_start = 0;
  bool first = true;
  while (line_start < head.size()) {
    const std::size_t line_end = head.find("\r\n", line_start);
    if (line_end == std::string::npos || line_end == line_start) break;
    const std::string line = head.substr(line_start, line_end - line_start);
    line_start = line_end + 2;
    if (first) {
      const auto space1 = line.find(' ');
      const auto space2 = line.find(' ', space1 + 1);
      if (space1 == std::string::npos || space2 == std::string::npos) return false;
      request.method = line.substr(0, space1);
      request.target = line.substr(space1 + 1, space2 - space1 - 1);
      first = false;
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) return false;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    request.headers[lower(line.substr(0, colon))] = value;
  }
  return !first;
}

/// Reads one HTTP/1.1 request head and its Content-Length body from `fd`. Nothing on a
/// malformed request, a closed connection or the deadline.
std::optional<StreamRequest> read_request(int fd, Clock::time_point deadline) {
  std::string raw;
  std::size_t head_end = std::string::npos;
  StreamRequest request;
  std::size_t body_length = 0;
  while (Clock::now() < deadline) {
    if (head_end != std::string::npos && raw.size() >= head_end + body_length) break;
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, poll_step_until(deadline)) <= 0) continue;
    char buffer[kReadBytes];
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) return std::nullopt;
    raw.append(buffer, static_cast<std::size_t>(got));
    if (head_end != std::string::npos || (head_end = raw.find("\r\n\r\n")) == std::string::npos) {
      continue;
    }

    head_end += 4;
    if (!parse_head(raw.substr(0, head_end), request)) return std::nullopt;
    body_length = std::strtoul(request.header("content-length").c_str(), nullptr, 10);
    if (lower(request.header("expect")) == "100-continue") {
      const std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      ::send(fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
    }
  }
  if (head_end == std::string::npos || raw.size() < head_end + body_length) return std::nullopt;
  request.body = raw.substr(head_end, body_length);
  return request;
}

}  // namespace

// --- ServiceProcess

ServiceProcess::ServiceProcess() {
  std::signal(SIGPIPE, SIG_IGN);  // a peer that hangs up must fail a write, not kill the test
  int out[2];
  if (::pipe(out) != 0) return;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, out[1]);
  std::string binary = CONTRACT_SERVICE_BINARY;
  std::string port_flag = "--port";
  std::string port_value = "0";
  char* argv[] = {binary.data(), port_flag.data(), port_value.data(), nullptr};
  const int spawned = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  stdout_ = out[0];
  if (spawned != 0) {
    pid_ = -1;
    return;
  }
  port_ = read_port(Clock::now() + kStartTimeout);
}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);  // SIGKILL cannot be ignored: this returns promptly
  }
  if (stdout_ >= 0) ::close(stdout_);
}

std::optional<int> ServiceProcess::wait_exit(Clock::duration limit) {
  const auto deadline = Clock::now() + limit;
  while (!exit_status_ && pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      break;
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollStepMs));
  }
  return exit_status_;
}

/// Reads stdout up to the first line end and takes the number after its last colon: the line
/// is "contract_service listening on http://127.0.0.1:PORT". -1 when none came in time.
int ServiceProcess::read_port(Clock::time_point deadline) {
  std::string line;
  while (line.find('\n') == std::string::npos && Clock::now() < deadline) {
    pollfd ready{stdout_, POLLIN, 0};
    if (::poll(&ready, 1, poll_step_until(deadline)) <= 0) continue;
    char buffer[kReadBytes];
    const ssize_t got = ::read(stdout_, buffer, sizeof buffer);
    if (got <= 0) break;
    line.append(buffer, static_cast<std::size_t>(got));
  }
  const auto colon = line.rfind(':');
  if (line.find('\n') == std::string::npos || colon == std::string::npos) return -1;
  return std::atoi(line.c_str() + colon + 1);
}

// --- StreamRequest and StreamConnection

std::string StreamRequest::header(const std::string& name) const {
  const auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool StreamRequest::has_header(const std::string& name) const {
  return headers.count(lower(name)) != 0;
}

StreamConnection::StreamConnection(int fd, StreamRequest request)
    : fd_(fd), request_(std::move(request)) {}

StreamConnection::~StreamConnection() {
  ::close(fd_);
}

bool StreamConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

bool StreamConnection::send_in_pieces(std::string_view bytes, std::size_t size) {
  for (std::size_t at = 0; at < bytes.size(); at += size) {
    if (at > 0) std::this_thread::sleep_for(kChunkGap);
    if (!send(bytes.substr(at, size))) return false;
  }
  return true;
}

void StreamConnection::break_connection() {
  ::shutdown(fd_, SHUT_RDWR);
}

bool StreamConnection::wait_client_gone(Clock::duration limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, poll_step_until(deadline)) <= 0) continue;
    char byte;
    if (::recv(fd_, &byte, 1, MSG_DONTWAIT) <= 0) return true;
  }
  return false;
}

// --- StreamServer

StreamServer::StreamServer(int status, std::optional<std::string> location)
    : status_(status), location_(std::move(location)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, kBacklog) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return;
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { accept_loop(); });
}

StreamServer::~StreamServer() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

std::string StreamServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/stream";
}

std::shared_ptr<StreamConnection> StreamServer::await_connection(std::size_t index,
                                                                 Clock::duration limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  arrived_.wait_for(lock, limit, [&] { return connections_.size() > index; });
  return connections_.size() > index ? connections_[index] : nullptr;
}

/// Accepts connections until the server is destroyed, reading each request before taking the
/// next: the client sends its request at once, and a scenario has one connection at a time.
void StreamServer::accept_loop() {
  while (!stopping_) {
    pollfd ready{listen_fd_, POLLIN, 0};
    if (::poll(&ready, 1, kPollStepMs) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // each send a segment

    auto request = read_request(fd, Clock::now() + kMessageTimeout);
    if (!request) {
      ::close(fd);
      continue;
    }
    auto connection = std::make_shared<StreamConnection>(fd, std::move(*request));
    const std::string head = status_ == 200
                                 ? "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                   "Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
                                 : "HTTP/1.1 " + std::to_string(status_) + " Scripted\r\n" +
                                       (location_ ? "Location: " + *location_ + "\r\n" : "") +
                                       "Content-Length: 0\r\nConnection: close\r\n\r\n";
    if (!connection->send(head)) continue;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      connections_.push_back(std::move(connection));
    }
    arrived_.notify_all();
  }
}

// --- CallbackServer

CallbackServer::CallbackServer() {
  server_.new_task_queue = [] { return new httplib::ThreadPool(kCallbackThreads); };
  server_.set_payload_max_length(kMaxCallbackBytes);
  server_.Post(R"(/callback/(\d+))",
               [this](const httplib::Request& request, httplib::Response& response) {
                 {
                   std::lock_guard<std::mutex> lock(mutex_);
                   received_[std::stoull(request.matches[1].str())] = request.body;
                 }
                 arrived_.notify_all();
                 response.status = 202;  // what the harness answers
               });
  server_.set_error_handler([this](const httplib::Request& request, httplib::Response&) {
    std::lock_guard<std::mutex> lock(mutex_);
    stray_.push_back(request.method + " " + request.path);
  });
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });

  // stop() does nothing until the accept loop runs, and a destructor that came first (a test
  // that failed at once) would then wait on join for ever.
  const auto deadline = Clock::now() + kStartTimeout;
  while (!server_.is_running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

CallbackServer::~CallbackServer() {
  server_.stop();
  thread_.join();
}

std::string CallbackServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/callback";
}

std::optional<Json> CallbackServer::next(Clock::duration limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!arrived_.wait_for(lock, limit, [&] { return received_.count(next_) != 0; })) {
    return std::nullopt;
  }
  const auto it = received_.find(next_++);
  Json message = Json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  received_.erase(it);
  return message;
}

std::vector<std::string> CallbackServer::stray_requests() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stray_;
}

// --- ClientUnderTest

ClientUnderTest::ClientUnderTest(httplib::Client& service, const StreamServer& stream,
                                 const CallbackServer& callbacks, Json params)
    : service_(service) {
  params["streamUrl"] = stream.url();
  params["callbackUrl"] = callbacks.url();
  params.emplace("tag", "contract_service_test");
  const auto result = service_.Post("/", params.dump(), "application/json");
  status_ = result ? result->status : 0;
  if (!result) return;
  location_ = result->get_header_value("Location");
  const auto authority = location_.find("://");
  const auto path = location_.find('/', authority == std::string::npos ? 0 : authority + 3);
  if (path != std::string::npos) path_ = location_.substr(path);
}

ClientUnderTest::~ClientUnderTest() {
  if (!path_.empty()) service_.Delete(path_.c_str());
}

int ClientUnderTest::command(const Json& body) {
  const auto result = service_.Post(path_.c_str(), body.dump(), "application/json");
  return result ? result->status : 0;
}

int ClientUnderTest::close() {
  const auto result = service_.Delete(path_.c_str());
  path_.clear();
  return result ? result->status : 0;
}

}  // namespace ssekit::contract::test
