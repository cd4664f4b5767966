// ssebridge: a Server-Sent Events server. Streams channels to browsers and SSE clients, fans
// PostgreSQL LISTEN/NOTIFY out to them when given a database, and serves a demo stream and
// scripted faults for client tests. `ssebridge --help` lists the options.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

#include "bridge.hpp"
#include "config.hpp"
#include "log.hpp"
#include "memory_store.hpp"
#include "postgres_store.hpp"
#include "ssekit/backoff.hpp"
#include "ssekit/version.hpp"

namespace {

using namespace ssebridge;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;  // bad option, address in use, database unreachable

int mint_token(const TokenRequest& request) {
  TokenClaims claims;
  claims.channels = request.channels;
  for (const auto& scope : request.scopes) {
    claims.read |= scope == "read";
    claims.publish |= scope == "publish";
  }
  claims.expires_at = std::chrono::duration_cast<std::chrono::seconds>(
                          (std::chrono::system_clock::now() + request.ttl).time_since_epoch())
                          .count();
  std::cout << Authenticator(request.secret, "").mint(claims) << "\n";
  return 0;
}

std::unique_ptr<Store> make_store(const Config& config, Metrics& metrics, std::string& error) {
  QueueLimits queue;
  queue.max_events = config.client_queue;
  if (config.pg_url.empty()) {
    log_info("no --pg or DATABASE_URL: events are kept in memory, and lost when the bridge stops");
    MemoryStoreOptions options;
    options.queue = queue;
    options.retention = config.retention;
    options.max_events = config.history;
    return std::make_unique<MemoryStore>(options);
  }
  PostgresStoreOptions options;
  options.url = config.pg_url;
  options.queue = queue;
  options.retention = config.retention;
  options.prune_interval = config.prune_interval;
  return PostgresStore::open(options, metrics, error);
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

int run(const Config& config) {
  set_log_level(config.verbose ? LogLevel::debug : LogLevel::info);

  // SIGINT and SIGTERM are taken by one thread with sigwait(); every thread started from here
  // on inherits the mask. Broken connections are write errors, not signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string error;
  Metrics metrics;
  auto store = make_store(config, metrics, error);
  if (!store) {
    log_error(error);
    return kExitUsage;
  }
  const std::string kind = store->kind();
  Bridge bridge(config, std::move(store), metrics);
  if (!bridge.bind(error)) {
    log_error(error);
    return kExitUsage;
  }
  log_info("listening on http://" + url_host(config.host) + ":" + std::to_string(bridge.port()) +
           " (store: " + kind + ", max clients " + std::to_string(config.max_clients) +
           (config.auth_secret.empty() ? "" : ", token auth on") + ")");

  std::atomic<bool> serving{true};
  std::thread signal_thread([&] {
    int received = 0;
    sigwait(&signals, &received);
    if (!serving) return;
    log_info(std::string("received ") + (received == SIGINT ? "SIGINT" : "SIGTERM") +
             ": shutting down");
    bridge.stop();
  });

  const bool ok = bridge.serve();
  if (!ok) log_error("the server stopped unexpectedly");
  serving = false;
  bridge.stop();
  // Wakes the signal thread if the server ended on its own.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  log_info("stopped");
  return ok ? 0 : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  const Command command = parse_command_line(argc, argv);
  switch (command.action) {
    case Command::Action::help:
      std::cout << usage();
      return 0;
    case Command::Action::version:
      std::cout << "ssebridge " << SSEKIT_VERSION << "\n";
      return 0;
    case Command::Action::error:
      std::cerr << "ssebridge: " << command.error << "\n";
      return kExitUsage;
    case Command::Action::token:
      return mint_token(command.token);
    case Command::Action::run:
      break;
  }
  return run(command.config);
}
