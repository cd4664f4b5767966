#include "support/sse_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace ssekit::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kHeadTimeout{10};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

SseSocket::SseSocket(int port, const std::string& target, const Headers& headers,
                     int receive_buffer) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  if (receive_buffer > 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }

  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nAccept: text/event-stream\r\n";
  for (const auto& [name, value] : headers)
    request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    throw std::runtime_error("cannot send the request");
  }

  const auto deadline = Clock::now() + kHeadTimeout;
  size_t end = std::string::npos;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
    if (closed_ || !read_more(deadline)) {
      throw std::runtime_error("no response head from " + target + " (got '" + raw_ + "')");
    }
  }
  const std::string head = raw_.substr(0, end);
  raw_.erase(0, end + 4);
  const size_t first_space = head.find(' ');
  status_ = std::stoi(head.substr(first_space + 1, 3));
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    const size_t next = head.find("\r\n", pos + 2);
    const std::string line =
        head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      headers_[lower(line.substr(0, colon))] = value;
    }
    pos = next;
  }
  chunked_ = lower(header("transfer-encoding")).find("chunked") != std::string::npos;
  decode_body();
}

SseSocket::~SseSocket() {
  close();
}

void SseSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  closed_ = true;
}

std::string SseSocket::header(const std::string& name) const {
  const auto it = headers_.find(lower(name));
  return it == headers_.end() ? std::string() : it->second;
}

bool SseSocket::read_more(Clock::time_point deadline) {
  if (closed_ || fd_ < 0) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buffer[65536];
  const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  raw_.append(buffer, static_cast<size_t>(n));
  return true;
}

void SseSocket::decode_body() {
  if (!chunked_) {
    body_ += raw_;
    raw_.clear();
    // A body of known length is complete when it has all its bytes.
    const std::string length = header("content-length");
    if (!length.empty() && body_.size() >= std::stoul(length)) clean_end_ = true;
  }
  while (chunked_ && !clean_end_) {
    const size_t line_end = raw_.find("\r\n");
    if (line_end == std::string::npos) break;
    const size_t size = std::stoul(raw_.substr(0, line_end), nullptr, 16);
    if (size == 0) {
      clean_end_ = true;
      raw_.clear();
      break;
    }
    if (raw_.size() < line_end + 2 + size + 2) break;
    body_.append(raw_, line_end + 2, size);
    chunk_sizes_.push_back(size);
    raw_.erase(0, line_end + 2 + size + 2);
  }

  // Lines end at CR, LF or CRLF; a CR at the very end may be the first half of a CRLF.
  while (parsed_ < body_.size()) {
    const size_t eol = body_.find_first_of("\r\n", parsed_);
    if (eol == std::string::npos) break;
    if (body_[eol] == '\r' && eol + 1 == body_.size() && !closed_ && !clean_end_) break;
    parse_line(std::string_view(body_).substr(parsed_, eol - parsed_));
    parsed_ =
        eol + ((body_[eol] == '\r' && eol + 1 < body_.size() && body_[eol + 1] == '\n') ? 2 : 1);
  }
}

bool SseSocket::parse_line(std::string_view line) {
  if (line.empty()) {
    if (pending_has_data_) {
      if (!pending_.data.empty() && pending_.data.back() == '\n') pending_.data.pop_back();
      ready_.push_back(pending_);
    }
    pending_ = SseEvent{};
    pending_has_data_ = false;
    return true;
  }
  if (line[0] == ':') {
    ++comments_;
    return false;
  }
  const size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  if (field == "event") {
    pending_.type = std::string(value);
  } else if (field == "data") {
    pending_.data.append(value);
    pending_.data += '\n';
    pending_has_data_ = true;
  } else if (field == "id") {
    pending_.id = std::string(value);
  } else if (field == "retry" && !value.empty() &&
             std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    retry_ = std::stol(std::string(value));
  }
  return false;
}

std::optional<SseEvent> SseSocket::next_event(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (ready_.empty()) {
    if (closed_ || clean_end_) return std::nullopt;
    if (!read_more(deadline)) {
      decode_body();
      if (ready_.empty()) return std::nullopt;
      break;
    }
    decode_body();
  }
  SseEvent event = std::move(ready_.front());
  ready_.erase(ready_.begin());
  return event;
}

std::vector<SseEvent> SseSocket::events(size_t count, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<SseEvent> out;
  while (out.size() < count) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    auto event = next_event(left);
    if (!event) break;
    out.push_back(std::move(*event));
  }
  return out;
}

bool SseSocket::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!closed_ && !clean_end_) {
    if (!read_more(deadline) && !closed_) break;
    decode_body();
  }
  decode_body();
  return closed_ || clean_end_;
}

}  // namespace ssekit::test
