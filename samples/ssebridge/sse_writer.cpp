#include "sse_writer.hpp"

namespace ssebridge {

void append_data_lines(std::string& out, std::string_view data) {
  size_t start = 0;
  while (true) {
    const size_t end = data.find_first_of("\r\n", start);
    out += "data: ";
    out.append(data.substr(start, end == std::string_view::npos ? end : end - start));
    out += '\n';
    if (end == std::string_view::npos) break;
    // A CRLF pair is one line break, as the client's parser counts it.
    start = end + ((data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n') ? 2 : 1);
  }
}

void append_event(std::string& out, std::int64_t id, std::string_view type, std::string_view data) {
  out += "id: ";
  out += std::to_string(id);
  out += "\nevent: ";
  out.append(type);
  out += '\n';
  append_data_lines(out, data);
  out += '\n';
}

void append_comment(std::string& out, std::string_view text) {
  out += ": ";
  out.append(text);
  out += "\n\n";
}

void append_retry(std::string& out, std::chrono::milliseconds delay) {
  out += "retry: ";
  out += std::to_string(delay.count());
  out += "\n\n";
}

}  // namespace ssebridge
