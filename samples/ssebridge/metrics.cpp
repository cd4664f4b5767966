#include "metrics.hpp"

namespace ssebridge {
namespace {

void add(std::string& out, const char* name, const char* type, const char* help,
         const std::string& value) {
  out += "# HELP ssebridge_";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ssebridge_";
  out += name;
  out += ' ';
  out += type;
  out += "\nssebridge_";
  out += name;
  out += ' ';
  out += value;
  out += '\n';
}

void counter(std::string& out, const char* name, const char* help,
             const std::atomic<std::uint64_t>& value) {
  add(out, name, "counter", help, std::to_string(value.load(std::memory_order_relaxed)));
}

}  // namespace

std::string render_metrics(const Metrics& m, const Gauges& g) {
  std::string out;
  add(out, "clients_connected", "gauge", "SSE streams open now.",
      std::to_string(g.clients_connected));
  add(out, "clients_max", "gauge", "The --max-clients limit.", std::to_string(g.max_clients));
  if (g.postgres_connected >= 0) {
    add(out, "postgres_connected", "gauge", "1 while the LISTEN connection is up.",
        std::to_string(g.postgres_connected));
  }
  add(out, "last_event_id", "gauge", "Id of the newest event delivered to the hub.",
      std::to_string(g.last_event_id));
  counter(out, "events_published_total", "Events accepted by POST /events.", m.events_published);
  add(out, "events_received_total", "counter", "Events that reached the fan-out hub.",
      std::to_string(g.events_received));
  counter(out, "events_sent_total", "Events written to clients, replays included.", m.events_sent);
  counter(out, "replays_total", "Streams resumed from a Last-Event-ID.", m.replays);
  counter(out, "replayed_events_total", "Events written by replays.", m.replayed_events);
  counter(out, "resets_total", "reset events sent for ids that cannot be resumed.", m.resets);
  counter(out, "slow_clients_dropped_total", "Clients dropped because their queue overflowed.",
          m.slow_clients_dropped);
  counter(out, "clients_rejected_total", "Streams refused with 503 at the client limit.",
          m.clients_rejected);
  counter(out, "auth_failures_total", "Requests answered 401 or 403.", m.auth_failures);
  counter(out, "postgres_reconnects_total", "Times the LISTEN connection was re-established.",
          m.postgres_reconnects);
  counter(out, "pruned_events_total", "Stored events deleted past the retention window.",
          m.pruned_events);
  return out;
}

}  // namespace ssebridge
