#include "ssekit/version.hpp"

namespace ssekit {

const char* version() noexcept {
  return SSEKIT_VERSION;
}

}  // namespace ssekit
