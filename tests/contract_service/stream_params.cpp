// stream_params.cpp: checks a create-stream request and maps it onto ssekit's client options.
#include "stream_params.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>
#include <utility>

namespace ssekit::contract {
namespace {

using Json = nlohmann::json;

bool is_http_url(const std::string& url) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  return (url.rfind(kHttp, 0) == 0 && url.size() > kHttp.size()) ||
         (url.rfind(kHttps, 0) == 0 && url.size() > kHttps.size());
}

/// Reads the required http(s) URL `name` into `out`; false (and `error` set) when it is absent,
/// not a string or not an absolute http(s) URL.
bool read_url(const Json& body, const char* name, std::string& out, ParamsError& error) {
  const auto it = body.find(name);
  if (it == body.end() || !it->is_string()) {
    error.message = std::string(name) + " is required and must be a string";
    return false;
  }
  out = it->get<std::string>();
  if (!is_http_url(out)) {
    error.message = std::string(name) + " must be an absolute http:// or https:// URL";
    return false;
  }
  return true;
}

/// Reads the optional string `name` into `out` (left as is when absent or null).
bool read_string(const Json& body, const char* name, std::string& out, ParamsError& error) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_string()) {
    error.message = std::string(name) + " must be a string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

/// Reads the optional millisecond count `name` into `out`. Absent and null leave `out` alone:
/// the harness sends null for "use your default".
bool read_millis(const Json& body, const char* name, std::chrono::milliseconds& out,
                 ParamsError& error) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0) {
    error.message = std::string(name) + " must be a non-negative integer or null";
    return false;
  }
  out = std::chrono::milliseconds(it->get<std::int64_t>());
  return true;
}

/// Reads the optional `headers` object: every value must be a string.
bool read_headers(const Json& body, std::vector<Header>& out, ParamsError& error) {
  const auto it = body.find("headers");
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_object()) {
    error.message = "headers must be an object of strings";
    return false;
  }
  for (const auto& item : it->items()) {
    if (!item.value().is_string()) {
      error.message = "the value of header '" + item.key() + "' must be a string";
      return false;
    }
    out.emplace_back(item.key(), item.value().get<std::string>());
  }
  return true;
}

}  // namespace

std::variant<StreamParams, ParamsError> parse_stream_params(const std::string& body) {
  const Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return ParamsError{"the request body must be a JSON object"};
  }

  StreamParams params;
  ClientOptions& options = params.options;
  ParamsError error;
  const bool ok = read_url(json, "streamUrl", options.url, error) &&
                  read_url(json, "callbackUrl", params.callback_url, error) &&
                  read_string(json, "tag", params.tag, error) &&
                  read_millis(json, "initialDelayMs", options.reconnect_policy.initial, error) &&
                  read_millis(json, "readTimeoutMs", options.idle_timeout, error) &&
                  read_string(json, "lastEventId", options.last_event_id, error) &&
                  read_headers(json, options.headers, error) &&
                  read_string(json, "method", options.method, error) &&
                  read_string(json, "body", options.body, error);
  if (!ok) return error;
  if (options.method.empty()) options.method = "GET";

  // The harness sends events as large as whole snapshots in one `data:` line, which ssekit's
  // defaults (1 MiB a line) would drop.
  options.limits.max_event_bytes = kLargestEventBytes + kLineSlackBytes;
  options.limits.max_line_bytes = kLargestEventBytes + kLineSlackBytes;
  return params;
}

}  // namespace ssekit::contract
