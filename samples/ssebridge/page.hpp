// page.hpp: the live page served at GET / (page.html, compiled in by CMake).
#pragma once

namespace ssebridge {

extern const char* const kPageHtml;

}  // namespace ssebridge
