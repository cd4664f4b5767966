// Parses one event with the installed library and checks it, so the link is proven, not assumed.
#include <cstdio>

#include <ssekit/ssekit.hpp>

namespace {

struct FirstEvent : ssekit::EventParser::Handler {
  ssekit::Event event;
  void on_event(const ssekit::Event& e) override { event = e; }
};

}  // namespace

int main() {
  ssekit::EventParser parser;
  FirstEvent sink;
  parser.feed("id: 7\nevent: tick\ndata: hello\n\n", sink);

  const bool ok = sink.event.type == "tick" && sink.event.data == "hello" && sink.event.id == "7";
  std::printf("ssekit %s: %s\n", ssekit::version(), ok ? "ok" : "wrong event");
  return ok ? 0 : 1;
}
