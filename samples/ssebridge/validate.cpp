#include "validate.hpp"

#include <cmath>
#include <cstdlib>

namespace ssebridge {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

// Quotes a client-supplied value for an error message, cut short and with control bytes
// replaced so the message stays one printable line.
std::string quoted(std::string_view value) {
  constexpr size_t kShown = 64;
  std::string out = "'";
  for (size_t i = 0; i < value.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (value.size() > kShown) out += "...";
  return out + "'";
}

std::string check_name(std::string_view what, std::string_view value, size_t max_length) {
  if (value.empty()) return std::string(what) + " is empty";
  if (value.size() > max_length) {
    return std::string(what) + " " + quoted(value) + " is longer than " +
           std::to_string(max_length) + " characters";
  }
  for (char c : value) {
    if (!is_name_char(c)) {
      return std::string(what) + " " + quoted(value) +
             " has a character outside A-Z a-z 0-9 _ . : -";
    }
  }
  return {};
}

}  // namespace

std::string check_channel(std::string_view name) {
  return check_name("channel name", name, kMaxChannelLength);
}

std::string check_type(std::string_view type) {
  return check_name("event type", type, kMaxTypeLength);
}

std::string check_data(std::string_view data) {
  if (data.find('\0') != std::string_view::npos) return "data contains a NUL byte";
  if (!is_valid_utf8(data)) return "data is not valid UTF-8";
  return {};
}

bool is_valid_utf8(std::string_view bytes) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    std::uint32_t code = 0;
    std::uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      length = 2, code = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3, code = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4, code = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + length > n) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto cc = static_cast<unsigned char>(bytes[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

std::optional<std::int64_t> parse_event_id(std::string_view text) {
  constexpr size_t kMaxDigits = 18;
  if (text.empty() || text.size() > kMaxDigits) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<std::uint64_t> parse_count(std::string_view text, std::uint64_t max) {
  constexpr size_t kMaxDigits = 18;
  if (text.empty() || text.size() > kMaxDigits) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

namespace {

// Splits "1.5h" into 1.5 and "h"; nullopt unless the number is finite and non-negative.
std::optional<std::pair<double, std::string>> split_number(std::string_view text) {
  const std::string s(text);
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(value) || value < 0) return std::nullopt;
  return std::make_pair(value, std::string(end));
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const auto parts = split_number(text);
  if (!parts) return std::nullopt;
  const auto& [value, unit] = *parts;
  double millis = 0;
  if (unit == "ms") {
    millis = value;
  } else if (unit.empty() || unit == "s") {
    millis = value * 1e3;
  } else if (unit == "m") {
    millis = value * 60e3;
  } else if (unit == "h") {
    millis = value * 3600e3;
  } else if (unit == "d") {
    millis = value * 86400e3;
  } else {
    return std::nullopt;
  }
  constexpr double kMaxMillis = 1e15;  // about 31,000 years: past it the input is a typo
  if (millis > kMaxMillis) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(millis)));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  const auto parts = split_number(text);
  if (!parts) return std::nullopt;
  const auto& [value, unit] = *parts;
  double bytes = value;
  if (unit == "K" || unit == "k") {
    bytes *= 1024.0;
  } else if (unit == "M") {
    bytes *= 1024.0 * 1024.0;
  } else if (unit == "G") {
    bytes *= 1024.0 * 1024.0 * 1024.0;
  } else if (!unit.empty()) {
    return std::nullopt;
  }
  constexpr double kMaxBytes = 1e15;
  if (bytes > kMaxBytes) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(bytes));
}

}  // namespace ssebridge
