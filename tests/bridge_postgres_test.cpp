// ssebridge on a real PostgreSQL (started by the test, never skipped): publishing over HTTP and
// from SQL, replay at the seam, a database restart in the middle of a burst, a bridge restart,
// retention, two bridges on one database, and events too large for a notification.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>

#include "bridge_test_util.hpp"
#include "support/bridge_process.hpp"
#include "support/postgres_cluster.hpp"
#include "support/sse_socket.hpp"

using namespace ssekit::test;

namespace {

// Reads events until `count` arrived or `timeout` passed, checking ids strictly increase.
std::vector<SseEvent> read_ordered(SseSocket& socket, size_t count,
                                   std::chrono::milliseconds timeout) {
  auto events = socket.events(count, timeout);
  for (size_t i = 1; i < events.size(); ++i) {
    REQUIRE(std::stoll(events[i].id) > std::stoll(events[i - 1].id));
  }
  return events;
}

std::vector<long long> ids_of(const std::vector<SseEvent>& events) {
  std::vector<long long> ids;
  for (const auto& e : events)
    ids.push_back(std::stoll(e.id));
  return ids;
}

std::vector<long long> stored_ids(const std::string& url, const std::string& channel) {
  PgConnection db(url);
  std::vector<long long> ids;
  for (const auto& row :
       db.exec("SELECT id FROM ssekit_events WHERE channel = $1 ORDER BY id", {channel})) {
    ids.push_back(std::stoll(row[0]));
  }
  return ids;
}

}  // namespace

TEST_CASE(
    "events published over HTTP and from SQL reach every subscriber, but not a rolled-back one",
    "[bridge][postgres]") {
  const std::string url = PostgresCluster::shared().create_database();
  BridgeProcess bridge({"--pg", url});
  CHECK(bridge.log().find("schema created at version 1") != std::string::npos);

  SseSocket a1(bridge.port(), "/events?channel=orders");
  SseSocket a2(bridge.port(), "/events?channel=orders");
  SseSocket other(bridge.port(), "/events?channel=invoices");
  REQUIRE(a1.status() == 200);

  const long long http_id = publish(bridge.port(), "orders", "from http", "created");
  REQUIRE(http_id > 0);

  PgConnection db(url);
  db.exec("BEGIN");
  const std::string sql_id = db.scalar("SELECT ssekit_publish('orders', 'paid', '{\"n\":1}')");
  db.exec("UPDATE ssekit_meta SET value = value WHERE key = 'schema_version'");  // app work
  db.exec("COMMIT");
  db.exec("BEGIN");
  db.scalar("SELECT ssekit_publish('orders', 'ghost', 'rolled back')");
  db.exec("ROLLBACK");
  const std::string last_id = db.scalar("SELECT ssekit_publish('orders', 'shipped', 'x')");

  for (SseSocket* reader : {&a1, &a2}) {
    const auto events = read_ordered(*reader, 3, 10s);
    REQUIRE(events.size() == 3);
    CHECK(events[0].id == std::to_string(http_id));
    CHECK(events[0].type == "created");
    CHECK(events[0].data == "from http");
    CHECK(events[1].id == sql_id);
    CHECK(events[1].type == "paid");
    CHECK(events[1].data == "{\"n\":1}");
    CHECK(events[2].id == last_id);
    CHECK(!reader->next_event(200ms));  // the rolled-back event never arrives
  }
  CHECK(!other.next_event(200ms));
  CHECK(metric(bridge.port(), "ssebridge_postgres_connected") == 1);
}

TEST_CASE("the schema is created once, and a newer schema is refused", "[bridge][postgres]") {
  const std::string url = PostgresCluster::shared().create_database();
  { BridgeProcess first({"--pg", url}); }
  BridgeProcess second({"--pg", url});
  CHECK(second.log().find("schema created") == std::string::npos);

  PgConnection db(url);
  CHECK(db.scalar("SELECT value FROM ssekit_meta WHERE key = 'schema_version'") == "1");
  db.exec("UPDATE ssekit_meta SET value = '99' WHERE key = 'schema_version'");
  const auto refused = run_bridge({"--listen", "127.0.0.1:0", "--pg", url});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("schema version 99, newer than this bridge's 1") != std::string::npos);
}

TEST_CASE("events too large for a notification arrive whole", "[bridge][postgres]") {
  const std::string url = PostgresCluster::shared().create_database();
  BridgeProcess bridge({"--pg", url});
  SseSocket reader(bridge.port(), "/events?channel=big");

  std::string big;
  for (int i = 0; big.size() < 20000; ++i)
    big += "line " + std::to_string(i) + " é\n";
  big += "end";
  const long long http_id = publish(bridge.port(), "big", big);
  REQUIRE(http_id > 0);
  PgConnection db(url);
  const std::string small_id = db.scalar("SELECT ssekit_publish('big', 'small', 'tiny')");
  const std::string sql_id = db.scalar("SELECT ssekit_publish('big', 'sql', repeat('y', 9000))");

  const auto events = read_ordered(reader, 3, 10s);
  REQUIRE(events.size() == 3);
  CHECK(events[0].data == big);
  CHECK(events[1].id == small_id);
  CHECK(events[2].id == sql_id);
  CHECK(events[2].data == std::string(9000, 'y'));

  // Replayed from the table too.
  SseSocket replay(bridge.port(), "/events?channel=big", {{"Last-Event-ID", "0"}});
  const auto again = read_ordered(replay, 3, 10s);
  REQUIRE(again.size() == 3);
  CHECK(again[0].data == big);
}

TEST_CASE("clients resuming during a publish burst get every event once, with no gap at the seam",
          "[bridge][postgres]") {
  const std::string url = PostgresCluster::shared().create_database();
  BridgeProcess bridge({"--pg", url});
  constexpr int kEvents = 400;

  // Publishers on two connections, so ids interleave across transactions.
  std::atomic<bool> done{false};
  std::thread burst([&] {
    PgConnection db1(url);
    PgConnection db2(url);
    for (int i = 0; i < kEvents; ++i) {
      (i % 2 == 0 ? db1 : db2).exec("SELECT ssekit_publish('seam', 'n', $1)", {std::to_string(i)});
    }
    done = true;
  });

  // Clients join at different points, each resuming from whatever id was last published.
  std::vector<std::unique_ptr<SseSocket>> readers;
  std::vector<long long> starts;
  PgConnection db(url);
  while (readers.size() < 8) {
    const long long from = std::stoll(db.scalar("SELECT coalesce(max(id), 0) FROM ssekit_events"));
    starts.push_back(from);
    readers.push_back(
        std::make_unique<SseSocket>(bridge.port(), "/events?channel=seam",
                                    SseSocket::Headers{{"Last-Event-ID", std::to_string(from)}}));
    std::this_thread::sleep_for(15ms);
  }
  burst.join();
  const auto all = stored_ids(url, "seam");
  REQUIRE(all.size() == static_cast<size_t>(kEvents));

  for (size_t r = 0; r < readers.size(); ++r) {
    std::vector<long long> expected;
    for (long long id : all) {
      if (id > starts[r]) expected.push_back(id);
    }
    const auto events = read_ordered(*readers[r], expected.size(), 20s);
    CHECK(ids_of(events) == expected);
    CHECK(!readers[r]->next_event(100ms));
  }
  CHECK(metric(bridge.port(), "ssebridge_replays_total") == 8);
}

TEST_CASE("a Postgres restart in the middle of a publish burst loses and duplicates nothing",
          "[bridge][postgres]") {
  // A cluster of its own: restarting the shared one would disturb nothing here, but this keeps
  // the test independent of the order the cases run in.
  PostgresCluster cluster;
  const std::string url = cluster.create_database();
  BridgeProcess bridge({"--pg", url, "--heartbeat", "1s"});
  SseSocket reader(bridge.port(), "/events?channel=burst");
  REQUIRE(reader.status() == 200);

  std::atomic<int> published{0};
  std::atomic<bool> restarted{false};
  std::thread burst([&] {
    // Publishes over HTTP until 150 events went through after the restart; a publish refused
    // while the database is down is retried (the bridge answers 503).
    int after_restart = 0;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (after_restart < 150 && std::chrono::steady_clock::now() < deadline) {
      if (publish(bridge.port(), "burst", "e" + std::to_string(published.load())) > 0) {
        ++published;
        if (restarted) ++after_restart;
      } else {
        std::this_thread::sleep_for(20ms);
      }
    }
  });
  REQUIRE(eventually([&] { return published >= 150; }, 20s));
  cluster.restart();
  restarted = true;
  burst.join();

  CHECK(bridge.wait_for_log("LISTEN connection lost", 10s));
  CHECK(bridge.wait_for_log("LISTEN connection back", 20s));
  const auto stored = stored_ids(url, "burst");
  REQUIRE(stored.size() >= 300);
  const auto events = read_ordered(reader, stored.size(), 30s);
  CHECK(ids_of(events) == stored);
  CHECK(!reader.next_event(300ms));
  CHECK(metric(bridge.port(), "ssebridge_postgres_reconnects_total") >= 1);
}

TEST_CASE("clients resume by Last-Event-ID across a bridge restart", "[bridge][postgres]") {
  const std::string url = PostgresCluster::shared().create_database();
  std::vector<long long> seen;
  {
    BridgeProcess bridge({"--pg", url});
    SseSocket reader(bridge.port(), "/events?channel=r");
    for (int i = 0; i < 5; ++i)
      publish(bridge.port(), "r", "before " + std::to_string(i));
    seen = ids_of(read_ordered(reader, 5, 10s));
    REQUIRE(seen.size() == 5);
    CHECK(bridge.stop() == 0);
  }

  // Published while no bridge runs: the table keeps them.
  PgConnection db(url);
  for (int i = 0; i < 5; ++i)
    db.exec("SELECT ssekit_publish('r', 'message', $1)", {"while down"});

  BridgeProcess restarted({"--pg", url});
  SseSocket reader(restarted.port(), "/events?channel=r",
                   {{"Last-Event-ID", std::to_string(seen.back())}});
  const long long live = publish(restarted.port(), "r", "after");
  const auto events = read_ordered(reader, 6, 10s);
  REQUIRE(events.size() == 6);
  CHECK(events[0].data == "while down");
  CHECK(std::stoll(events[0].id) == seen.back() + 1);
  CHECK(events[5].id == std::to_string(live));
}

TEST_CASE("a Last-Event-ID older than the retention window gets a reset event",
          "[bridge][postgres]") {
  const std::string url = PostgresCluster::shared().create_database();
  BridgeProcess bridge({"--pg", url, "--retention", "1s", "--prune-interval", "200ms"});
  long long first = 0;
  for (int i = 0; i < 5; ++i) {
    const long long id = publish(bridge.port(), "old", std::to_string(i));
    if (i == 0) first = id;
  }
  REQUIRE(eventually([&] { return stored_ids(url, "old").empty(); }, 10s));
  CHECK(metric(bridge.port(), "ssebridge_pruned_events_total") == 5);

  SseSocket reader(bridge.port(), "/events?channel=old",
                   {{"Last-Event-ID", std::to_string(first)}});
  const auto reset = reader.next_event(5s);
  REQUIRE(reset);
  CHECK(reset->type == "reset");
  CHECK(reset->data.find("retention") != std::string::npos);
  CHECK(std::stoll(reset->id) >= first + 4);
  const long long live = publish(bridge.port(), "old", "new");
  const auto next = reader.next_event(5s);
  REQUIRE(next);
  CHECK(next->id == std::to_string(live));

  SseSocket future(bridge.port(), "/events?channel=old", {{"Last-Event-ID", "100000"}});
  const auto unknown = future.next_event(5s);
  REQUIRE(unknown);
  CHECK(unknown->type == "reset");
  CHECK(unknown->data.find("unknown-id") != std::string::npos);
}

TEST_CASE("two bridges on one database each deliver every event", "[bridge][postgres]") {
  const std::string url = PostgresCluster::shared().create_database();
  BridgeProcess one({"--pg", url});
  BridgeProcess two({"--pg", url});
  SseSocket on_one(one.port(), "/events?channel=shared");
  SseSocket on_two(two.port(), "/events?channel=shared");

  std::vector<long long> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(publish((i % 2 == 0 ? one : two).port(), "shared", std::to_string(i)));
  }
  PgConnection db(url);
  ids.push_back(std::stoll(db.scalar("SELECT ssekit_publish('shared', 'sql', 'from sql')")));
  for (SseSocket* reader : {&on_one, &on_two}) {
    CHECK(ids_of(read_ordered(*reader, ids.size(), 10s)) == ids);
  }
}

TEST_CASE("while the database is down new streams get 503, then all is well again",
          "[bridge][postgres]") {
  PostgresCluster cluster;
  const std::string url = cluster.create_database();
  BridgeProcess bridge({"--pg", url});
  SseSocket open_stream(bridge.port(), "/events?channel=d");
  REQUIRE(open_stream.status() == 200);

  cluster.stop();
  REQUIRE(bridge.wait_for_log("LISTEN connection lost", 10s));
  httplib::Client http("127.0.0.1", bridge.port());
  const auto health = http.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 503);
  SseSocket refused(bridge.port(), "/events?channel=new-one");
  CHECK(refused.status() == 503);
  CHECK(!refused.header("Retry-After").empty());
  CHECK(publish(bridge.port(), "d", "nowhere") == -503);

  cluster.start();
  REQUIRE(bridge.wait_for_log("LISTEN connection back", 20s));
  const long long id = publish(bridge.port(), "d", "back");
  REQUIRE(id > 0);
  const auto event = open_stream.next_event(10s);
  REQUIRE(event);
  CHECK(event->id == std::to_string(id));
}
