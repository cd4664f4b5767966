// transport.hpp: one stream's libcurl easy handle: request setup, response head, body bytes.
//
// The Transport knows HTTP and libcurl; it knows nothing of events or reconnects. It builds
// each attempt's request (method, body, headers, TLS, proxy, HTTP version, decoding), reads
// the status line and the headers the client needs, hands body bytes to its sink without
// copying them, and translates libcurl results into ssekit's codes at this boundary.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ssekit/error.hpp"
#include "ssekit/options.hpp"

namespace ssekit::detail {

/// What the client needs from a final (non-1xx) response head.
struct ResponseHead {
  int status = 0;
  std::string reason;        ///< Reason phrase as sent; empty over HTTP/2.
  std::string content_type;  ///< Media type, lower case, without parameters.
  std::optional<std::chrono::milliseconds> retry_after;
  bool has_location = false;
};

/// Receives what a transfer produces. Called inside libcurl callbacks on the loop thread.
class TransportSink {
 public:
  virtual ~TransportSink() = default;
  /// Any byte arrived (header or body): the link is alive.
  virtual void on_activity() = 0;
  /// A final response head. Return false to abort the transfer.
  virtual bool on_head(const ResponseHead& head) = 0;
  /// Body bytes, decoded. Return false to abort the transfer.
  virtual bool on_body(std::string_view bytes) = 0;
};

/// One attempt's request, beyond what stays the same for the whole stream.
struct RequestSpec {
  std::string url;
  std::string_view method = "GET";
  const std::string* body = nullptr;  ///< Not sent when null; must outlive the transfer.
  std::vector<Header> headers;        ///< Complete list, credentials included (or not).
  bool expect_http2 = false;          ///< The origin speaks HTTP/2: share its connection.
};

class Transport {
 public:
  /// `private_data` is stored as CURLOPT_PRIVATE (the loop's Transfer).
  Transport(TransportSink& sink, void* private_data);
  ~Transport();

  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  /// Sets the options that hold for every attempt of the stream. Returns invalid_option when
  /// libcurl refuses one (an HTTP version it was built without, say).
  [[nodiscard]] Error configure(const ClientOptions& options);

  /// Prepares the handle for one attempt. Call before each (re)add to the multi handle.
  [[nodiscard]] Error prepare(const RequestSpec& request);

  CURL* easy() const noexcept { return easy_; }

  /// The absolute URL a redirect response pointed to, or "" (valid after the transfer).
  std::string redirect_url() const;

  /// True when the current response came over HTTP/2.
  bool negotiated_http2() const;

  /// libcurl's own description of the last failure (its error buffer), or "".
  std::string_view error_detail() const noexcept { return error_buffer_; }

 private:
  static size_t on_header(char* data, size_t size, size_t count, void* self);
  static size_t on_write(char* data, size_t size, size_t count, void* self);
  void header_line(std::string_view line);

  TransportSink& sink_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  ResponseHead head_;
  bool head_done_ = false;
  char error_buffer_[CURL_ERROR_SIZE] = {};
};

/// ssekit's reading of a libcurl result: network, tls, too_many_redirects, invalid_url...
/// `detail` is libcurl's error buffer, which separates a broken handshake from a refused
/// certificate.
ErrorCode map_curl_code(CURLcode code, std::string_view detail) noexcept;

/// The value of a Retry-After header: delta-seconds or an HTTP date. Nothing when invalid.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

/// scheme://host:port of an absolute URL, lower case, with the scheme's default port filled
/// in; "" when it does not parse. Two URLs are of the same origin when these are equal.
std::string origin_of(const std::string& url);

/// `text` percent-encoded for a query string: unreserved characters kept, the rest %XX.
std::string url_encode(std::string_view text);

}  // namespace ssekit::detail
