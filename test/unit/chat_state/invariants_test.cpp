// ChatState: check_invariants through a busy session.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

TEST_CASE("state: check_invariants holds through a busy session", "[state][invariants]") {
  StateConfig config;
  config.history = 2;
  config.max_rooms = 2;  // besides the lobby
  config.max_rooms_per_client = 2;
  config.remembered_rooms = 1;
  Harness h(config);
  auto holds = [&] {
    const auto violation = h.state.check_invariants();
    INFO(violation.value_or(""));
    CHECK_FALSE(violation);
  };
  holds();  // empty
  h.login(1, "alice");
  h.login(2, "bob");
  h.connect(3);  // never registers
  holds();
  h.join(1, "r1");
  for (int i = 0; i < 5; ++i) h.say(1, "r1", "hi");  // history ring wraps
  h.send(2, R"({"type":"join","room":"r1"})");
  h.send(2, R"({"type":"join","room":"r2"})");  // over max_rooms_per_client
  h.send(2, R"({"type":"nick","nick":"Bob"})");  // case change only
  h.send(2, R"({"type":"nick","nick":"carol"})");
  holds();
  h.send(1, R"({"type":"part","room":"r1"})");
  h.send(2, R"({"type":"part","room":"r1"})");  // r1 empty, kept for its history
  h.send(2, R"({"type":"part","room":"lobby"})");
  h.join(2, "r2");
  h.join(2, "r3");  // over max_rooms: r1 is forgotten
  CHECK_FALSE(h.state.room_seq("r1"));
  holds();
  const std::string token = h.hello_token(4, "dave");
  h.connect(5);
  h.send(5, R"({"type":"hello","nick":"DAVE","resume":")" + token + R"("})");  // replaces 4
  h.apply(h.state.timed_out(1, ++h.now));
  h.apply(h.state.disconnect(2, LeaveReason::slow_consumer, ++h.now));
  h.apply(h.state.registration_expired(3));
  holds();
  CHECK(h.state.connection_count() == 1);
  h.apply(h.state.shutdown());
  holds();
}
