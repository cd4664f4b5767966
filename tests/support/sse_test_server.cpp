#include "support/sse_test_server.hpp"

#include <sys/socket.h>

#include <memory>
#include <stdexcept>

namespace ssekit::test {
namespace {

// How often wait_until() re-checks its condition: short enough for fast tests, long enough not
// to burn the two shared cores.
constexpr std::chrono::milliseconds kPollInterval{2};

}  // namespace

std::string RecordedRequest::header(const std::string& name) const {
  const auto found = headers.find(name);
  return found == headers.end() ? std::string() : found->second;
}

bool StreamWriter::write(std::string_view bytes) {
  if (owner_.stopping()) return false;
  return sink_.write(bytes.data(), bytes.size());
}

bool StreamWriter::write_bytewise(std::string_view bytes, std::chrono::milliseconds gap) {
  for (char byte : bytes) {
    if (!write(std::string_view(&byte, 1))) return false;
    if (gap.count() > 0 && !pause(gap)) return false;
  }
  return true;
}

bool StreamWriter::pause(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(owner_.mutex_);
  const auto generation = owner_.release_generation_;
  return !owner_.changed_.wait_for(lock, duration, [&] {
    return owner_.stopping() || owner_.release_generation_ != generation;
  });
}

void StreamWriter::stall() {
  std::unique_lock<std::mutex> lock(owner_.mutex_);
  const auto generation = owner_.release_generation_;
  owner_.changed_.wait(
      lock, [&] { return owner_.stopping() || owner_.release_generation_ != generation; });
}

bool StreamWriter::wait_until(const std::function<bool()>& ready, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!ready()) {
    if (owner_.stopping() || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

SseTestServer::SseTestServer(int threads) : server_(std::make_unique<httplib::Server>()) {
  serve(threads);
}

SseTestServer::SseTestServer(const std::string& cert_file, const std::string& key_file, int threads,
                             const std::string& client_ca_file)
    : server_(std::make_unique<httplib::SSLServer>(
          cert_file.c_str(), key_file.c_str(),
          client_ca_file.empty() ? nullptr : client_ca_file.c_str())),
      scheme_("https") {
  if (!server_->is_valid()) throw std::runtime_error("SseTestServer: bad certificate or key");
  serve(threads);
}

void SseTestServer::serve(int threads) {
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_tcp_nodelay(true);  // each chunk leaves at once: tests control the framing
  socket_t listener = INVALID_SOCKET;
  server_->set_socket_options([&listener](socket_t sock) {
    httplib::default_socket_options(sock);
    listener = sock;
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("SseTestServer: cannot bind 127.0.0.1");
  // httplib listens with a backlog of 5: a test connecting a hundred streams at once would see
  // handshakes dropped and retried seconds later. Listening again only widens the queue.
  if (listener != INVALID_SOCKET) ::listen(listener, SOMAXCONN);
  // Routes are added by handle() while the server already listens. A request reaches them only
  // after the test added them, but through the kernel (the client's socket, then the server's),
  // which ThreadSanitizer does not see; taking the lock that handle() holds makes the order
  // visible to it before httplib reads the route table.
  server_->set_pre_routing_handler([this](const httplib::Request&, httplib::Response&) {
    std::lock_guard<std::mutex> lock(mutex_);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the accept loop runs would be lost and the destructor would wait forever.
  while (!server_->is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

SseTestServer::~SseTestServer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string SseTestServer::url(const std::string& path) const {
  return scheme_ + "://127.0.0.1:" + std::to_string(port_) + path;
}

std::string SseTestServer::localhost_url(const std::string& path) const {
  return scheme_ + "://localhost:" + std::to_string(port_) + path;
}

void SseTestServer::handle(const std::string& path, Handler handler) {
  auto shared = std::make_shared<Handler>(std::move(handler));
  auto serve = [this, shared](const httplib::Request& request, httplib::Response& response) {
    RecordedRequest recorded;
    recorded.method = request.method;
    recorded.path = request.path;
    const auto query = request.target.find('?');
    if (query != std::string::npos) recorded.query = request.target.substr(query + 1);
    for (const auto& [name, value] : request.headers)
      recorded.headers.emplace(name, value);
    recorded.body = request.body;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(recorded);
    }
    changed_.notify_all();
    (*shared)(recorded, response);
  };
  // Exact paths: escape the regex metacharacters a test path might hold.
  std::string pattern;
  for (char c : path) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) pattern += '\\';
    pattern += c;
  }
  std::lock_guard<std::mutex> lock(mutex_);  // see the pre-routing handler in serve()
  server_->Get(pattern, serve);
  server_->Post(pattern, serve);
  server_->Put(pattern, serve);
  server_->Patch(pattern, serve);
  server_->Delete(pattern, serve);
  server_->Options(pattern, serve);
}

void SseTestServer::stream(httplib::Response& response, Script script,
                           const std::string& content_type) {
  if (response.status == -1) response.status = 200;
  response.set_chunked_content_provider(
      content_type, [this, script = std::move(script)](std::size_t, httplib::DataSink& sink) {
        StreamWriter writer(sink, *this);
        script(writer);
        sink.done();
        return true;
      });
}

std::vector<RecordedRequest> SseTestServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

std::size_t SseTestServer::request_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_.size();
}

bool SseTestServer::wait_for_requests(std::size_t count, std::chrono::milliseconds limit) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, limit, [&] { return requests_.size() >= count; });
}

void SseTestServer::release_stalls() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++release_generation_;
  }
  changed_.notify_all();
}

}  // namespace ssekit::test
