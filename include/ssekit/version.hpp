// ssekit/version.hpp: the library's version.
#pragma once

#define SSEKIT_VERSION_MAJOR 0
#define SSEKIT_VERSION_MINOR 1
#define SSEKIT_VERSION_PATCH 0
#define SSEKIT_VERSION "0.1.0"

namespace ssekit {

/// The version of the library the program is linked with, "0.1.0".
const char* version() noexcept;

}  // namespace ssekit
