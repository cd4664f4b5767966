#include "event.hpp"

#include "sse_writer.hpp"

namespace ssebridge {

EventPtr make_event(std::int64_t id, std::string channel, std::string type, std::string data,
                    std::chrono::system_clock::time_point created) {
  auto event = std::make_shared<Event>();
  event->id = id;
  event->channel = std::move(channel);
  event->type = std::move(type);
  event->data = std::move(data);
  event->created = created;
  append_event(event->wire, event->id, event->type, event->data);
  return event;
}

}  // namespace ssebridge
