#include "transport.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "platform.hpp"
#include "redact.hpp"

namespace ssekit::detail {
namespace {

// TCP keepalive: probe a connection idle this long, then every interval. The watchdog catches a
// dead peer within idle_timeout anyway; keepalive also keeps NAT and proxy state alive.
constexpr long kKeepAliveIdleSeconds = 30;
constexpr long kKeepAliveIntervalSeconds = 10;

// The read buffer when the options leave it to us. A bulk stream then costs one read call per
// 128 KiB instead of per 16 KiB (libcurl's own default): about 8% of the loop thread on a
// stream of small events at full speed. The pages are only resident once a read fills them, so
// an idle stream, which reads a heartbeat at a time, pays no more than with 16 KiB.
constexpr long kDefaultReadBufferBytes = 128 * 1024;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool header_is(std::string_view line, std::string_view name, std::string_view* value) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  if (!iequals(line.substr(0, name.size()), name)) return false;
  *value = trim(line.substr(name.size() + 1));
  return true;
}

long curl_http_version(HttpVersion version) {
  switch (version) {
    case HttpVersion::http1_1:
      return CURL_HTTP_VERSION_1_1;
    case HttpVersion::http2:
      return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    case HttpVersion::automatic:
      break;
  }
  return CURL_HTTP_VERSION_2TLS;
}

}  // namespace

Transport::Transport(TransportSink& sink, void* private_data) : sink_(sink) {
  easy_ = curl_easy_init();
  if (easy_ == nullptr) return;
  curl_easy_setopt(easy_, CURLOPT_PRIVATE, private_data);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &Transport::on_header);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Transport::on_write);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer_);
  // A child process the app starts must not inherit (and hold open) a stream's connection.
  curl_easy_setopt(easy_, CURLOPT_SOCKOPTFUNCTION, &mark_socket_not_inherited);
}

Transport::~Transport() {
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
  curl_slist_free_all(headers_);
}

Error Transport::configure(const ClientOptions& options) {
  if (easy_ == nullptr)
    return Error{ErrorCode::invalid_option, 0, 0, "cannot create a curl handle"};
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy_, option, value);
  };

  set(CURLOPT_NOSIGNAL, 1L);  // many threads, no SIGALRM-based DNS timeouts
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  // Redirects are followed by the client, which decides per hop what credentials go along.
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);  // a proxy's CONNECT answer is not our response
  set(CURLOPT_ACCEPT_ENCODING, "");           // every decoding libcurl has: gzip, br, zstd
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_TCP_KEEPIDLE, kKeepAliveIdleSeconds);
  set(CURLOPT_TCP_KEEPINTVL, kKeepAliveIntervalSeconds);
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  set(CURLOPT_HTTP_VERSION, curl_http_version(options.http_version));
  set(CURLOPT_BUFFERSIZE, options.read_buffer_bytes != 0
                              ? static_cast<long>(options.read_buffer_bytes)
                              : kDefaultReadBufferBytes);

  set(CURLOPT_SSL_VERIFYPEER, options.tls.verify ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, options.tls.verify ? 2L : 0L);
  if (!options.tls.ca_file.empty()) set(CURLOPT_CAINFO, options.tls.ca_file.c_str());
  if (!options.tls.client_cert_file.empty()) {
    set(CURLOPT_SSLCERT, options.tls.client_cert_file.c_str());
  }
  if (!options.tls.client_key_file.empty()) {
    set(CURLOPT_SSLKEY, options.tls.client_key_file.c_str());
  }
  if (!options.proxy.empty()) set(CURLOPT_PROXY, options.proxy.c_str());

  if (rc != CURLE_OK) {
    return Error{ErrorCode::invalid_option, 0, static_cast<int>(rc),
                 std::string("libcurl refused an option: ") + curl_easy_strerror(rc)};
  }
  return {};
}

Error Transport::prepare(const RequestSpec& request) {
  head_ = ResponseHead{};
  head_done_ = false;
  error_buffer_[0] = '\0';

  curl_slist_free_all(headers_);
  headers_ = nullptr;
  std::string line;
  for (const auto& [name, value] : request.headers) {
    line.assign(name);
    // "Name;" is libcurl's spelling of a header sent with an empty value.
    line.append(value.empty() ? ";" : ": ").append(value);
    curl_slist* grown = curl_slist_append(headers_, line.c_str());
    if (grown == nullptr) return Error{ErrorCode::invalid_option, 0, 0, "out of memory"};
    headers_ = grown;
  }
  // A large body must not wait a second for "100 Continue" from servers that never send it.
  headers_ = curl_slist_append(headers_, "Expect:");

  // Wait for a connection that is still being set up rather than open another, only when it
  // will multiplex: with the multi_socket API libcurl revisits waiting transfers only when a
  // connection is freed, which a long-lived HTTP/1.1 stream never is.
  curl_easy_setopt(easy_, CURLOPT_PIPEWAIT, request.expect_http2 ? 1L : 0L);

  // An HTTP/1.1 stream holds its connection for its whole life, so there is nothing to reuse;
  // asking for a fresh one also spares libcurl a walk over every busy connection to the host,
  // which made opening n streams to one origin cost O(n^2).
  curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, request.expect_http2 ? 0L : 1L);
  curl_easy_setopt(easy_, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
  if (request.body != nullptr) {
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, request.body->data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body->size()));
    curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST,
                     request.method == "POST" ? nullptr : std::string(request.method).c_str());
  } else {
    curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST,
                     request.method == "GET" ? nullptr : std::string(request.method).c_str());
  }
  return {};
}

bool Transport::negotiated_http2() const {
  long version = 0;
  curl_easy_getinfo(easy_, CURLINFO_HTTP_VERSION, &version);
  return version == CURL_HTTP_VERSION_2_0;
}

std::string Transport::redirect_url() const {
  char* url = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_REDIRECT_URL, &url) != CURLE_OK || url == nullptr)
    return {};
  return url;
}

size_t Transport::on_header(char* data, size_t size, size_t count, void* self) {
  auto* transport = static_cast<Transport*>(self);
  const size_t bytes = size * count;
  transport->sink_.on_activity();
  const bool was_done = transport->head_done_;
  transport->header_line(std::string_view(data, bytes));
  if (!was_done && transport->head_done_) {
    if (!transport->sink_.on_head(transport->head_)) return 0;  // aborts: CURLE_WRITE_ERROR
  }
  return bytes;
}

void Transport::header_line(std::string_view line) {
  if (line.size() >= 5 && line.compare(0, 5, "HTTP/") == 0) {
    // A status line starts a response: a 1xx, a redirect's or the final one.
    head_ = ResponseHead{};
    head_done_ = false;
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) return;
    std::string_view rest = line.substr(space + 1);
    int status = 0;
    std::size_t digits = 0;
    while (digits < rest.size() && digits < 3 &&
           std::isdigit(static_cast<unsigned char>(rest[digits]))) {
      status = status * 10 + (rest[digits] - '0');
      ++digits;
    }
    head_.status = status;
    head_.reason = std::string(trim(rest.substr(digits)));
    return;
  }
  if (head_done_) return;  // trailers of a chunked body

  if (trim(line).empty()) {
    // The end of a head. An interim 1xx head is followed by another: keep waiting.
    if (head_.status >= 200) head_done_ = true;
    return;
  }

  std::string_view value;
  if (header_is(line, "content-type", &value)) {
    head_.content_type = lower(trim(value.substr(0, value.find(';'))));
  } else if (header_is(line, "retry-after", &value)) {
    head_.retry_after = parse_retry_after(value);
  } else if (header_is(line, "location", &value)) {
    head_.has_location = !value.empty();
  }
}

size_t Transport::on_write(char* data, size_t size, size_t count, void* self) {
  auto* transport = static_cast<Transport*>(self);
  const size_t bytes = size * count;
  return transport->sink_.on_body(std::string_view(data, bytes)) ? bytes : 0;
}

ErrorCode map_curl_code(CURLcode code, std::string_view detail) noexcept {
  switch (code) {
    case CURLE_OK:
      return ErrorCode::ok;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return ErrorCode::invalid_url;
    case CURLE_TOO_MANY_REDIRECTS:
      return ErrorCode::too_many_redirects;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CLIENTCERT:
      return ErrorCode::tls;
    case CURLE_SSL_CONNECT_ERROR: {
      // A handshake the peer broke off (a restart, a reset) is a network failure and retried;
      // one that failed on its merits (protocol, cipher, certificate) is a TLS failure.
      for (std::string_view transient :
           {"SSL_ERROR_SYSCALL", "reset", "unexpected eof", "Connection", "closed"}) {
        if (detail.find(transient) != std::string_view::npos) return ErrorCode::network;
      }
      return ErrorCode::tls;
    }
    default:
      // Refused, reset, DNS, timeouts, a partial body, HTTP/2 stream errors, bad encodings.
      return ErrorCode::network;
  }
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
    // Delta-seconds. Ten digits already exceed any sane wait; the policy caps it anyway.
    if (value.size() > 9) value = "999999999";
    long long seconds = 0;
    for (char c : value)
      seconds = seconds * 10 + (c - '0');
    return std::chrono::seconds(seconds);
  }
  const std::string date(value);
  const time_t when = curl_getdate(date.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

std::string origin_of(const std::string& url) {
  CURLU* handle = curl_url();
  if (handle == nullptr) return {};
  std::string origin;
  if (curl_url_set(handle, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_get(handle, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(handle, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(handle, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
      origin = lower(scheme) + "://" + lower(host) + ":" + port;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
  }
  curl_url_cleanup(handle);
  return origin;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace ssekit::detail
