// The broadcaster driven through a real inbox and io_context, with connections
// that record what they are given instead of writing to sockets.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "corochat/protocol/request.hpp"
#include "server/broadcaster.hpp"
#include "server/inbox.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using corochat::server::Broadcaster;
using corochat::server::ClientId;
using corochat::server::Connection;
using corochat::server::Inbound;
using corochat::server::Inbox;
using corochat::server::SharedLine;
using corochat::server::StateConfig;
using corochat::server::Timestamp;
using Strings = std::vector<std::string>;
using SteadyClock = std::chrono::steady_clock;

namespace {

// A connection whose queue is a list of lines. The test drains it; the
// broadcaster only fills it.
class FakeConnection : public Connection {
 public:
  FakeConnection(ClientId id, std::string peer) : id(id), peer_(std::move(peer)) {}

  struct Flush {
    std::size_t lines;  // how many lines had been delivered when it came
    SteadyClock::time_point at;
  };

  const ClientId id;
  std::size_t queue_bound = SIZE_MAX;  // queued lines at most: past it deliver() fails
  std::size_t queued = 0;              // delivered and not yet drained
  Strings lines;                       // every line accepted, in order
  std::vector<Flush> flushes;
  int closes = 0;
  int aborts = 0;
  int room_requests = 0;
  int batches_handled = 0;

  bool deliver(const SharedLine& line) override {
    if (aborts > 0) return true;  // like a session going away: dropped
    if (queued >= queue_bound) return false;
    ++queued;
    lines.push_back(*line);
    return true;
  }
  void flush() override { flushes.push_back({lines.size(), SteadyClock::now()}); }
  void close_after_flush() override { ++closes; }
  void abort() override { ++aborts; }
  // Counts a queued line as 64 bytes against what is promised.
  bool has_room_for_replies(std::size_t promised) const override {
    return queued * 64 + promised <= queue_bound * 64 / 2;
  }
  void tell_when_room_for_replies() override { ++room_requests; }
  void lines_handled() override { ++batches_handled; }
  const std::string& peer() const override { return peer_; }

  bool all_flushed() const { return lines.empty() || (!flushes.empty() && flushes.back().lines == lines.size()); }
  void drain() { queued = 0; }

 private:
  std::string peer_;
};

using Fake = std::shared_ptr<FakeConnection>;

// One line of a connection's output, short enough to compare in lists:
// "message r alice: hi #3", "joined r bob", "left r bob slow_consumer", "bye shutdown".
std::string summary(const std::string& line) {
  const json::object o = json::parse(line).as_object();
  const std::string type(o.at("type").as_string());
  auto field = [&](const char* key) { return std::string(o.at(key).as_string()); };
  if (type == "message") {
    std::string s = "message " + field("room") + " " + field("from") + ": " + field("text") + " #" +
                    std::to_string(o.at("seq").as_int64());
    if (const json::value* id = o.if_contains("id")) s += " id=" + json::serialize(*id);
    return s;
  }
  if (type == "joined") return "joined " + field("room") + " " + field("nick");
  if (type == "left") return "left " + field("room") + " " + field("nick") + " " + field("reason");
  if (type == "bye") return "bye " + field("reason");
  return type;
}

// What a connection was given from its `from`-th line on.
Strings summaries(const Fake& fake, std::size_t from = 0) {
  Strings out;
  for (std::size_t i = from; i < fake->lines.size(); ++i) out.push_back(summary(fake->lines[i]));
  return out;
}

struct Harness {
  asio::io_context io;
  Inbox inbox{io, 1024};
  Timestamp clock = 1'000'000;
  std::optional<Broadcaster> broadcaster_holder;
  Broadcaster& broadcaster;
  bool finished = false;  // run() has returned
  std::exception_ptr failure;
  std::vector<Fake> fakes;
  ClientId next_id = 1;

  static StateConfig config() {
    StateConfig config;
    config.default_room = "";
    config.max_clients = SIZE_MAX;  // as the server gives it
    return config;
  }

  // With a history store (its handlers complete on io).
  explicit Harness(corochat::server::store::HistoryStore* store = nullptr)
      : broadcaster(store ? broadcaster_holder.emplace(inbox, config(), *store, [this] { return clock; })
                          : broadcaster_holder.emplace(inbox, config(), [this] { return clock; })) {
    asio::co_spawn(io, broadcaster.run(), [this](std::exception_ptr e) {
      finished = true;
      failure = e;
    });
  }

  ~Harness() {
    inbox.close();  // ends run() if it still waits
    io.restart();
    io.poll();
  }

  void send(Inbound message) { REQUIRE(inbox.try_send(boost::system::error_code(), std::move(message))); }

  void send(Inbound::Kind kind, const Fake& fake) {
    Inbound message{kind, fake->id, nullptr, {}, {}};
    send(std::move(message));
  }

  void send_lines(const Fake& fake, std::initializer_list<std::string> lines) {
    Inbound message{Inbound::Kind::lines, fake->id, nullptr, {}, {}};
    for (const auto& line : lines) message.items.push_back(corochat::protocol::parse_request(line));
    send(std::move(message));
  }

  Fake open(const std::string& peer) {
    auto fake = std::make_shared<FakeConnection>(next_id++, peer);
    fakes.push_back(fake);
    Inbound message{Inbound::Kind::opened, fake->id, fake, {}, {}};
    send(std::move(message));
    return fake;
  }

  // Registers `nick` and joins `room`, in a round of its own, and waits until
  // everything it caused is written, the other members' presence lines too:
  // no presence timer runs afterwards.
  Fake member(const std::string& nick, const std::string& room) {
    Fake fake = open(nick);
    send_lines(fake, {R"({"type":"hello","nick":")" + nick + R"("})", R"({"type":"join","room":")" + room + R"("})"});
    settle();
    return fake;
  }

  static std::string say(const std::string& room, const std::string& text) {
    return R"({"type":"say","room":")" + room + R"(","text":")" + text + R"("})";
  }

  // Runs what is ready now: every message in the inbox is handled, and what
  // it delivered flushed, except presence lines.
  void round() {
    io.restart();
    io.poll();
    REQUIRE_FALSE(failure);
  }

  // Runs the io_context until `done` holds, for at most a few seconds.
  template <class Condition>
  void run_until(Condition done) {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
    while (!done() && SteadyClock::now() < deadline) {
      if (io.stopped()) io.restart();
      io.run_one_until(deadline);
    }
    REQUIRE_FALSE(failure);
    REQUIRE(done());
  }

  // Everything handled and every open connection's lines flushed.
  void settle() {
    round();
    run_until([this] {
      for (const auto& fake : fakes)
        if (fake->closes == 0 && fake->aborts == 0 && !fake->all_flushed()) return false;
      return true;
    });
  }
};

}  // namespace

TEST_CASE("broadcaster: each room's messages reach every member in one order across senders", "[broadcaster]") {
  Harness h;
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  Fake carol = h.member("carol", "r");
  Fake dave = h.member("dave", "r");
  const std::vector<Fake> everyone{alice, bob, carol, dave};
  std::vector<std::size_t> before;
  for (const auto& fake : everyone) before.push_back(fake->lines.size());

  h.send_lines(alice, {Harness::say("r", "a1"), Harness::say("r", "a2")});
  h.send_lines(bob, {Harness::say("r", "b1")});
  h.send_lines(carol, {Harness::say("r", "c1")});
  h.round();
  h.send_lines(bob, {Harness::say("r", "b2"), Harness::say("r", "b3")});
  h.send_lines(alice, {Harness::say("r", "a3")});
  h.send_lines(carol, {Harness::say("r", "c2")});
  h.settle();

  const Strings expected{"message r alice: a1 #1", "message r alice: a2 #2", "message r bob: b1 #3",
                         "message r carol: c1 #4", "message r bob: b2 #5",   "message r bob: b3 #6",
                         "message r alice: a3 #7", "message r carol: c2 #8"};
  for (std::size_t i = 0; i < everyone.size(); ++i) {
    INFO(everyone[i]->peer());
    CHECK(summaries(everyone[i], before[i]) == expected);
  }
}

TEST_CASE("broadcaster: events are stamped by its wall clock", "[broadcaster]") {
  Harness h;
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  const std::size_t before = bob->lines.size();

  h.clock = 1'700'000'000'123;
  h.send_lines(alice, {Harness::say("r", "first")});
  h.round();
  h.clock = 1'700'000'000'456;
  h.send_lines(alice, {Harness::say("r", "second")});
  h.round();

  REQUIRE(bob->lines.size() == before + 2);
  CHECK(json::parse(bob->lines[before]).at("ts").as_int64() == 1'700'000'000'123);
  CHECK(json::parse(bob->lines[before + 1]).at("ts").as_int64() == 1'700'000'000'456);
}

TEST_CASE("broadcaster: one flush per touched connection per round, after every message of it", "[broadcaster]") {
  Harness h;
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  Fake carol = h.member("carol", "r");
  Fake dave = h.member("dave", "elsewhere");
  const std::vector<Fake> members{alice, bob, carol};
  std::vector<std::size_t> flushes_before, lines_before;
  for (const auto& fake : members) {
    flushes_before.push_back(fake->flushes.size());
    lines_before.push_back(fake->lines.size());
  }
  const std::size_t dave_flushes = dave->flushes.size();

  h.send_lines(alice, {Harness::say("r", "x1"), Harness::say("r", "x2")});
  h.send_lines(bob, {Harness::say("r", "y1")});
  h.send_lines(carol, {Harness::say("r", "z1")});
  h.round();

  for (std::size_t i = 0; i < members.size(); ++i) {
    INFO(members[i]->peer());
    CHECK(members[i]->lines.size() == lines_before[i] + 4);
    REQUIRE(members[i]->flushes.size() == flushes_before[i] + 1);
    CHECK(members[i]->flushes.back().lines == members[i]->lines.size());
  }
  CHECK(dave->flushes.size() == dave_flushes);
}

TEST_CASE("broadcaster: joins and leaves wait for the presence delay unless a normal line goes first", "[broadcaster]") {
  Harness h;
  Fake alice = h.member("alice", "r");
  std::size_t flushes_before = alice->flushes.size();
  std::size_t lines_before = alice->lines.size();

  // Only presence for alice: written once the delay is up, not in the round.
  const auto sent_at = SteadyClock::now();
  Fake bob = h.open("bob");
  h.send_lines(bob, {R"({"type":"hello","nick":"bob"})", R"({"type":"join","room":"r"})"});
  h.round();
  CHECK(bob->all_flushed());  // the joiner's own joined is a reply: not held
  h.run_until([&] { return alice->all_flushed(); });
  CHECK(summaries(alice, lines_before) == Strings{"joined r bob"});
  REQUIRE(alice->flushes.size() > flushes_before);
  CHECK(alice->flushes[flushes_before].at >= sent_at + Broadcaster::presence_delay);

  // A normal line in the same round takes the presence line along at once.
  flushes_before = alice->flushes.size();
  lines_before = alice->lines.size();
  Fake carol = h.open("carol");
  h.send_lines(carol, {R"({"type":"hello","nick":"carol"})", R"({"type":"join","room":"r"})"});
  h.send_lines(bob, {Harness::say("r", "hi")});
  h.round();
  CHECK(summaries(alice, lines_before) == Strings{"joined r carol", "message r bob: hi #1"});
  REQUIRE(alice->flushes.size() > flushes_before);
  CHECK(alice->flushes[flushes_before].lines == alice->lines.size());
}

TEST_CASE("broadcaster: a slow consumer is aborted and its leave may abort another, nobody else loses a line",
          "[broadcaster]") {
  Harness h;
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  Fake carol = h.member("carol", "r");
  Fake dave = h.member("dave", "r");
  Fake erin = h.member("erin", "r");
  bob->queue_bound = bob->queued;        // full: the next line overflows
  carol->queue_bound = carol->queued + 1;  // room for the message, not for bob's leave
  const std::size_t bob_before = bob->lines.size();
  const std::size_t carol_before = carol->lines.size();
  const std::vector<Fake> others{alice, dave, erin};
  std::vector<std::size_t> before;
  for (const auto& fake : others) before.push_back(fake->lines.size());

  h.send_lines(alice, {Harness::say("r", "hi")});
  h.round();

  CHECK(bob->aborts == 1);
  CHECK(summaries(bob, bob_before).empty());
  CHECK(carol->aborts == 1);
  CHECK(summaries(carol, carol_before) == Strings{"message r alice: hi #1"});
  for (std::size_t i = 0; i < others.size(); ++i) {
    INFO(others[i]->peer());
    CHECK(others[i]->aborts == 0);
    CHECK(others[i]->closes == 0);
    CHECK(summaries(others[i], before[i]) ==
          Strings{"message r alice: hi #1", "left r bob slow_consumer", "left r carol slow_consumer"});
  }
  CHECK(h.broadcaster.stats().clients == 3);
  CHECK(h.broadcaster.stats().connections == 5);  // until their sessions report closed
}

TEST_CASE("broadcaster: a batch waits while its connection has no room for replies and resumes in order",
          "[broadcaster]") {
  Harness h;
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  alice->drain();
  alice->queue_bound = 4;  // room for replies while at most 2 lines are queued
  const int batches_before = alice->batches_handled;
  const std::size_t alice_before = alice->lines.size();
  const std::size_t bob_before = bob->lines.size();
  auto say_with_id = [](int id) {
    return R"({"type":"say","room":"r","text":"a)" + std::to_string(id) + R"(","id":)" + std::to_string(id) + "}";
  };

  h.send_lines(alice, {say_with_id(1), say_with_id(2), say_with_id(3), say_with_id(4), say_with_id(5)});
  h.round();
  CHECK(summaries(alice, alice_before) ==
        Strings{"message r alice: a1 #1 id=1", "message r alice: a2 #2 id=2", "message r alice: a3 #3 id=3"});
  CHECK(alice->room_requests == 1);
  CHECK(alice->batches_handled == batches_before);

  // Others go on meanwhile.
  h.send_lines(bob, {Harness::say("r", "b")});
  h.round();
  CHECK(summaries(alice, alice_before).back() == "message r bob: b #4");

  alice->drain();
  h.send(Inbound::Kind::room_for_replies, alice);
  h.round();
  CHECK(summaries(alice, alice_before) ==
        Strings{"message r alice: a1 #1 id=1", "message r alice: a2 #2 id=2", "message r alice: a3 #3 id=3",
                "message r bob: b #4", "message r alice: a4 #5 id=4", "message r alice: a5 #6 id=5"});
  CHECK(summaries(bob, bob_before) == Strings{"message r alice: a1 #1", "message r alice: a2 #2",
                                              "message r alice: a3 #3", "message r bob: b #4",
                                              "message r alice: a4 #5", "message r alice: a5 #6"});
  CHECK(alice->room_requests == 1);
  CHECK(alice->batches_handled == batches_before + 1);
}

TEST_CASE("broadcaster: shutdown says bye to every connection and ends once all are closed", "[broadcaster]") {
  Harness h;
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  Fake carol = h.open("carol");  // not registered yet
  h.round();
  const std::size_t alice_before = alice->lines.size();
  const std::size_t bob_before = bob->lines.size();

  h.send_lines(bob, {Harness::say("r", "last")});  // queued output, not yet written when shutdown comes
  Inbound shutdown{Inbound::Kind::shutdown, 0, nullptr, {}, {}};
  h.send(std::move(shutdown));
  h.round();
  CHECK(summaries(alice, alice_before) == Strings{"message r bob: last #1", "bye shutdown"});
  CHECK(summaries(bob, bob_before) == Strings{"message r bob: last #1", "bye shutdown"});
  CHECK(summaries(carol) == Strings{"bye shutdown"});
  for (const auto& fake : {alice, bob, carol}) {
    INFO(fake->peer());
    CHECK(fake->closes == 1);
    CHECK(fake->aborts == 0);
  }

  Fake dave = h.open("dave");  // accepted just before the listener stopped
  h.round();
  CHECK(summaries(dave) == Strings{"bye shutdown"});
  CHECK(dave->closes == 1);

  for (const auto& fake : {alice, bob, carol}) h.send(Inbound::Kind::closed, fake);
  h.round();
  CHECK_FALSE(h.finished);
  CHECK(summaries(alice, alice_before).size() == 2);  // no leaves after the bye
  h.send(Inbound::Kind::closed, dave);
  h.round();
  CHECK(h.finished);
}

TEST_CASE("broadcaster: input_ended and closed are each handled once", "[broadcaster]") {
  Harness h;
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  Fake carol = h.member("carol", "r");
  const std::size_t alice_before = alice->lines.size();

  Inbound ended{Inbound::Kind::input_ended, bob->id, nullptr, {}, "closed by peer"};
  h.send(std::move(ended));
  h.round();
  CHECK(bob->closes == 1);
  CHECK(summaries(alice, alice_before) == Strings{"left r bob disconnect"});
  CHECK(h.broadcaster.stats().clients == 2);
  CHECK(h.broadcaster.stats().connections == 3);

  h.send(Inbound::Kind::closed, bob);
  h.round();
  CHECK(bob->closes == 1);
  CHECK(summaries(alice, alice_before) == Strings{"left r bob disconnect"});
  CHECK(h.broadcaster.stats().connections == 2);

  // Closed without input_ended first (reset, aborted): the leave is told then.
  const std::size_t bob_lines = bob->lines.size();
  h.send(Inbound::Kind::closed, carol);
  h.send_lines(alice, {Harness::say("r", "alone")});
  h.round();
  CHECK(summaries(alice, alice_before) ==
        Strings{"left r bob disconnect", "left r carol disconnect", "message r alice: alone #1"});
  CHECK(carol->closes == 0);
  CHECK(bob->lines.size() == bob_lines);
  CHECK(h.broadcaster.stats().connections == 1);
  CHECK(h.broadcaster.stats().clients == 1);
}

TEST_CASE("broadcaster: a connection closed in the round it was delivered to is not flushed", "[broadcaster]") {
  Harness h;
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  Fake carol = h.member("carol", "r");

  // Listed to flush now.
  const std::size_t bob_flushes = bob->flushes.size();
  const std::size_t bob_lines = bob->lines.size();
  h.send_lines(alice, {Harness::say("r", "hi")});
  h.send(Inbound::Kind::closed, bob);
  h.round();
  CHECK(bob->lines.size() == bob_lines + 1);
  CHECK(bob->flushes.size() == bob_flushes);
  CHECK(alice->all_flushed());

  // Listed to flush when the presence delay is up.
  const std::size_t carol_flushes = carol->flushes.size();
  const std::size_t carol_lines = carol->lines.size();
  Fake dave = h.open("dave");
  h.send_lines(dave, {R"({"type":"hello","nick":"dave"})", R"({"type":"join","room":"r"})"});
  h.send(Inbound::Kind::closed, carol);
  h.round();
  CHECK(carol->lines.size() == carol_lines + 1);  // joined r dave
  const std::size_t alice_lines = alice->lines.size();
  h.run_until([&] { return alice->all_flushed(); });  // the presence timer fired
  CHECK(summaries(alice, alice_lines - 2) == Strings{"joined r dave", "left r carol disconnect"});
  CHECK(carol->flushes.size() == carol_flushes);
}

namespace {

using corochat::server::store::AppendResult;
using corochat::server::store::HistoryStore;
using corochat::server::store::MessageStatus;
using corochat::server::store::StoredMessage;

// A store whose appends wait until the test completes them, as it chooses.
class HeldStore : public HistoryStore {
 public:
  struct Append {
    std::vector<StoredMessage> batch;
    AppendHandler handler;
  };
  std::vector<Append> appends;  // handed over, not yet completed

  const std::string& epoch() const override { return epoch_; }
  const std::vector<corochat::server::store::RoomSeq>& room_seqs() const override { return seqs_; }
  const std::vector<corochat::server::store::StoredToken>& tokens_at_open() const override { return tokens_; }
  std::error_code export_room(std::string_view, const std::function<void(const corochat::server::store::HistoryEntry&)>&) override {
    return {};
  }
  void close() override {}

  // Completes the oldest append: every message committed, or every one failed.
  void complete(bool committed) {
    REQUIRE(!appends.empty());
    Append append = std::move(appends.front());
    appends.erase(appends.begin());
    AppendResult result;
    result.status.assign(append.batch.size(), committed ? MessageStatus::committed : MessageStatus::failed);
    if (!committed) result.error = corochat::server::store::store_errc::full;
    std::move(append.handler)(std::move(result));
  }
  static Strings texts(const std::vector<StoredMessage>& batch) {
    Strings out;
    for (const auto& m : batch) out.push_back(summary(*m.line));
    return out;
  }

 protected:
  void start_append(std::vector<StoredMessage> batch, AppendHandler handler) override {
    appends.push_back({std::move(batch), std::move(handler)});
  }
  void start_read(corochat::server::store::HistoryQuery, ReadHandler) override { FAIL("no read expected"); }
  void start_save_token(std::string, std::string, Timestamp, DoneHandler) override {}
  void start_find_token(std::string, FindTokenHandler) override {}
  void start_remove_token(std::string, DoneHandler) override {}
  void start_enforce_retention(RetentionHandler) override {}
  void start_backup(std::string, DoneHandler) override {}

 private:
  std::string epoch_ = "stored-epoch";
  std::vector<corochat::server::store::RoomSeq> seqs_{{"r", 41}};
  std::vector<corochat::server::store::StoredToken> tokens_;
};

}  // namespace

TEST_CASE("broadcaster: with a store a round's messages go in one append and out only once committed",
          "[broadcaster][store]") {
  HeldStore store;
  Harness h(&store);
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  const std::size_t alice_before = alice->lines.size(), bob_before = bob->lines.size();

  h.send_lines(alice, {Harness::say("r", "a1"), R"({"type":"ping","id":7})"});
  h.send_lines(bob, {Harness::say("r", "b1")});
  h.round();
  // One append for the round; the room's seq goes on from the store's.
  REQUIRE(store.appends.size() == 1);
  CHECK(HeldStore::texts(store.appends[0].batch) == Strings{"message r alice: a1 #42", "message r bob: b1 #43"});
  CHECK(summaries(alice, alice_before).empty());  // nothing before the commit, not even alice's pong
  CHECK(summaries(bob, bob_before).empty());
  CHECK(alice->batches_handled == 1);  // her reader waits: the ping is held

  // Meanwhile bob's next message waits for the next append.
  h.send_lines(bob, {Harness::say("r", "b2")});
  h.round();
  CHECK(store.appends.size() == 1);

  store.complete(true);
  h.settle();
  CHECK(summaries(alice, alice_before) ==
        Strings{"message r alice: a1 #42", "message r bob: b1 #43", "pong"});
  CHECK(summaries(bob, bob_before) == Strings{"message r alice: a1 #42", "message r bob: b1 #43"});
  REQUIRE(store.appends.size() == 1);
  CHECK(HeldStore::texts(store.appends[0].batch) == Strings{"message r bob: b2 #44"});
  store.complete(true);
  h.settle();
  CHECK(summaries(bob, bob_before).back() == "message r bob: b2 #44");
}

TEST_CASE("broadcaster: a failed commit tells only the sender unavailable and the next message takes its seq",
          "[broadcaster][store]") {
  HeldStore store;
  Harness h(&store);
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  const std::size_t alice_before = alice->lines.size(), bob_before = bob->lines.size();

  h.send_lines(alice, {R"({"type":"say","room":"r","text":"lost","id":1})"});
  h.round();
  store.complete(false);
  h.settle();
  REQUIRE(summaries(alice, alice_before) == Strings{"error"});
  const json::object error = json::parse(alice->lines.back()).as_object();
  CHECK(error.at("code") == "unavailable");
  CHECK(error.at("id") == 1);
  CHECK(summaries(bob, bob_before).empty());

  h.send_lines(bob, {Harness::say("r", "kept")});
  h.round();
  REQUIRE(store.appends.size() == 1);
  CHECK(HeldStore::texts(store.appends[0].batch) == Strings{"message r bob: kept #42"});
  store.complete(true);
  h.settle();
  CHECK(summaries(alice, alice_before).back() == "message r bob: kept #42");
  CHECK(summaries(bob, bob_before) == Strings{"message r bob: kept #42"});
}

TEST_CASE("broadcaster: with a store a sender's burst of messages shares one append and its reader goes on",
          "[broadcaster][store]") {
  HeldStore store;
  Harness h(&store);
  Fake alice = h.member("alice", "r");
  Fake bob = h.member("bob", "r");
  const std::size_t alice_before = alice->lines.size(), bob_before = bob->lines.size();
  const int handled_before = alice->batches_handled;

  h.send_lines(alice, {Harness::say("r", "a1"), Harness::say("r", "a2"), Harness::say("r", "a3")});
  h.round();
  REQUIRE(store.appends.size() == 1);
  CHECK(HeldStore::texts(store.appends[0].batch) ==
        Strings{"message r alice: a1 #42", "message r alice: a2 #43", "message r alice: a3 #44"});
  CHECK(alice->batches_handled == handled_before + 1);  // her reader reads on while they are stored

  // Her next messages, read meanwhile, wait for the next append, not for a4's turn alone.
  h.send_lines(alice, {Harness::say("r", "a4")});
  h.send_lines(alice, {Harness::say("r", "a5")});
  h.round();
  CHECK(store.appends.size() == 1);
  CHECK(summaries(bob, bob_before).empty());

  store.complete(true);
  h.round();
  REQUIRE(store.appends.size() == 1);
  CHECK(HeldStore::texts(store.appends[0].batch) == Strings{"message r alice: a4 #45", "message r alice: a5 #46"});
  store.complete(true);
  h.settle();
  const Strings all{"message r alice: a1 #42", "message r alice: a2 #43", "message r alice: a3 #44",
                    "message r alice: a4 #45", "message r alice: a5 #46"};
  CHECK(summaries(alice, alice_before) == all);
  CHECK(summaries(bob, bob_before) == all);
}

TEST_CASE("broadcaster: with a store a refusal does not overtake the sender's earlier message",
          "[broadcaster][store]") {
  HeldStore store;
  Harness h(&store);
  Fake alice = h.member("alice", "r");
  const std::size_t alice_before = alice->lines.size();

  // The second is refused at once (no such room), the ping waits behind both.
  h.send_lines(alice, {Harness::say("r", "kept"), Harness::say("elsewhere", "refused"),
                       R"({"type":"ping","id":3})"});
  h.round();
  REQUIRE(store.appends.size() == 1);
  CHECK(summaries(alice, alice_before).empty());

  store.complete(true);
  h.settle();
  CHECK(summaries(alice, alice_before) == Strings{"message r alice: kept #42", "error", "pong"});
  CHECK(json::parse(alice->lines[alice_before + 1]).as_object().at("code") == "not_in_room");
}
