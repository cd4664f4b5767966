// stream_params.hpp: the body of a "create stream" request of the conformance test protocol,
// checked and turned into the ssekit::ClientOptions of the client it asks for.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <variant>

#include "ssekit/options.hpp"

namespace ssekit::contract {

/// The largest event the service must pass through, in bytes of data. The harness's payload
/// tests stop at 1 MiB; 16 MiB leaves room for suites that send whole snapshots.
inline constexpr std::size_t kLargestEventBytes = std::size_t{16} << 20;

/// Room on top of kLargestEventBytes for the field name and separators of the one `data:` line
/// that carries such an event.
inline constexpr std::size_t kLineSlackBytes = std::size_t{64} << 10;

/// One client the harness asked for.
struct StreamParams {
  std::string callback_url;  ///< Base URL the numbered callbacks are posted under.
  std::string tag;           ///< The harness's name for the test, for log lines.
  ClientOptions options;     ///< What the ssekit client is started with.
};

/// Why a request was refused: the message goes back to the harness with the 400.
struct ParamsError {
  std::string message;
};

/// Reads `body` (the JSON text of a create request). Returns the parameters, or the first
/// problem found: not JSON, a required URL missing or not http(s), a property of the wrong
/// type, a negative duration. `initialDelayMs` and `readTimeoutMs` may be null (not set).
std::variant<StreamParams, ParamsError> parse_stream_params(const std::string& body);

}  // namespace ssekit::contract
