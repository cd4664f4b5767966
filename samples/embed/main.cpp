// embed: prints the first events of a stream and exits, using the pull API (next with a timeout).
// The smallest complete program on an installed ssekit. Usage: embed URL [COUNT]
#include <cstdlib>
#include <iostream>

#include <ssekit/ssekit.hpp>

int main(int argc, char** argv) {
  const long count = argc > 2 ? std::atol(argv[2]) : 3;  // three events show a live stream
  if (argc < 2 || count <= 0) {
    std::cerr << "usage: embed URL [COUNT > 0]\n";
    return 2;
  }
  constexpr std::chrono::seconds kPatience{10};  // longer than a reconnect at default backoff

  // Describe the stream; every other option keeps its default.
  ssekit::ClientOptions options;
  options.url = argv[1];
  ssekit::Client client(options);

  // Start: only invalid options fail here; an unreachable server is retried in the background.
  if (ssekit::Error error = client.start()) {
    std::cerr << "embed: " << error.message << '\n';
    return 3;
  }

  // Pull events one by one; give up when none comes within kPatience.
  for (long i = 0; i < count; ++i) {
    std::optional<ssekit::Event> event = client.next(kPatience);
    if (!event) {
      std::cerr << "embed: no event within " << kPatience.count() << " s (state "
                << ssekit::to_string(client.state()) << ")\n";
      return 1;
    }
    std::cout << event->id << ' ' << event->type << ' ' << event->data << '\n';
  }
  return 0;
}
