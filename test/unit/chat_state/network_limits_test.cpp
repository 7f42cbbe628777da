// ChatState: max_rooms_per_network, the rooms one network may hold.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

namespace {

// A network as Admission::key_of gives it; only its identity matters here.
Network net(std::uint8_t n) {
  Network network{};
  network[15] = n;
  return network;
}
}  // namespace

TEST_CASE("state: max_rooms_per_network bounds the rooms one network holds", "[state][limits]") {
  StateConfig config;
  config.max_rooms_per_network = 2;
  Harness h(config);
  h.login(1, "alice", net(1));
  h.login(2, "bob", net(1));
  h.join(1, "a");
  h.join(2, "b");
  h.clear();
  h.send(1, R"({"type":"join","room":"c","id":7})");
  auto refused = h.take_one(1);
  check_error(refused, "too_many_rooms", id7);
  CHECK(str(refused, "message").find("network") != std::string::npos);
  CHECK(str(refused, "message").find('2') != std::string::npos);
  CHECK_FALSE(h.state.room_seq("c"));
  // A room the network already holds costs nothing more.
  h.join(1, "b");
  h.join(2, "a");
  // The default room does not count, explicitly joined or not.
  h.send(1, R"({"type":"part","room":"lobby"})");
  h.join(1, "lobby");
  CHECK(h.state.rooms_of(1) == Strings{"a", "b", "lobby"});
  CHECK(h.state.check_invariants() == std::nullopt);
}

TEST_CASE("state: a network's room is freed when its last member there leaves", "[state][limits]") {
  StateConfig config;
  config.max_rooms_per_network = 2;
  Harness h(config);
  h.login(1, "alice", net(1));
  h.login(2, "bob", net(1));
  h.join(1, "a");
  h.join(2, "a");
  h.join(1, "b");
  h.clear();
  h.send(1, R"({"type":"part","room":"a"})");  // bob still holds a for the network
  h.clear();
  h.send(1, R"({"type":"join","room":"c"})");
  check_error(h.take_one(1), "too_many_rooms");
  h.apply(h.state.disconnect(2, LeaveReason::disconnect, h.now));  // now a is free
  h.join(1, "c");
  h.send(1, R"({"type":"part","room":"b"})");
  h.join(1, "d");
  CHECK(h.state.check_invariants() == std::nullopt);
}

TEST_CASE("state: networks are capped independently", "[state][limits]") {
  StateConfig config;
  config.max_rooms_per_network = 2;
  Harness h(config);
  h.login(1, "alice", net(1));
  h.login(2, "carol", net(2));
  h.join(1, "a");
  h.join(1, "b");
  // Network 2 is not held back by network 1's rooms, shared or not.
  h.join(2, "a");
  h.join(2, "c");
  h.clear();
  h.send(2, R"({"type":"join","room":"d"})");
  check_error(h.take_one(2), "too_many_rooms");
  h.send(1, R"({"type":"join","room":"c"})");
  check_error(h.take_one(1), "too_many_rooms");
  // Network 1 leaving a shared room frees it for network 1 only.
  h.send(1, R"({"type":"part","room":"a"})");
  h.join(1, "c");
  h.clear();
  h.send(2, R"({"type":"join","room":"d"})");
  check_error(h.take_one(2), "too_many_rooms");
  CHECK(h.state.check_invariants() == std::nullopt);
}

TEST_CASE("state: max_rooms_per_network 0 is no limit", "[state][limits]") {
  StateConfig config;
  config.max_rooms_per_network = 0;
  Harness h(config);
  h.login(1, "alice", net(1));
  for (int i = 0; i < 30; ++i) h.join(1, "r" + std::to_string(i));
  CHECK(h.state.check_invariants() == std::nullopt);
}
