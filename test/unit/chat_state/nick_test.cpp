// ChatState: changing nick once registered.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

TEST_CASE("state: nick change reaches the requester and every room-mate once", "[state][nick]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.login(3, "carol");
  h.login(4, "dave");
  h.join(1, "dev");
  h.join(2, "dev");           // bob shares lobby and dev with alice
  h.send(4, R"({"type":"part","room":"lobby"})");  // dave shares nothing
  h.clear();

  h.send(1, R"({"type":"nick","nick":"alicia","id":7})");

  auto mine = h.take_one(1);
  CHECK(type_of(mine) == "nick");
  CHECK(str(mine, "old") == "alice");
  CHECK(str(mine, "new") == "alicia");
  CHECK(id_of(mine) == id7);

  auto bobs = h.take_one(2);
  CHECK(str(bobs, "new") == "alicia");
  CHECK_FALSE(id_of(bobs));
  CHECK(num(bobs, "ts") == num(mine, "ts"));

  auto carols = h.take_one(3);
  CHECK(str(carols, "new") == "alicia");
  CHECK_FALSE(id_of(carols));

  CHECK(h.received_nothing(4));
  CHECK(h.state.nick_of(1) == std::optional<std::string>("alicia"));

  // The old nick is free, the new one taken.
  h.connect(5);
  h.send(5, R"({"type":"hello","nick":"ALICIA"})");
  check_error(h.take_one(5), "nick_taken");
  h.send(5, R"({"type":"hello","nick":"alice"})");
  CHECK(h.state.nick_of(5) == std::optional<std::string>("alice"));
}

TEST_CASE("state: a change of case only is allowed and announced", "[state][nick]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.send(1, R"({"type":"nick","nick":"ALICE"})");
  CHECK(str(h.take_one(1), "new") == "ALICE");
  CHECK(str(h.take_one(2), "new") == "ALICE");
  CHECK(h.state.nick_of(1) == std::optional<std::string>("ALICE"));

  // Still owned: nobody else can take it in any case.
  h.connect(3);
  h.send(3, R"({"type":"hello","nick":"alice"})");
  check_error(h.take_one(3), "nick_taken");
}

TEST_CASE("state: the identical nick sends the event to the requester alone", "[state][nick]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.send(1, R"({"type":"nick","nick":"alice","id":7})");
  auto mine = h.take_one(1);
  CHECK(type_of(mine) == "nick");
  CHECK(str(mine, "old") == "alice");
  CHECK(str(mine, "new") == "alice");
  CHECK(id_of(mine) == id7);
  CHECK(h.received_nothing(2));
}

TEST_CASE("state: a nick in use or invalid is refused", "[state][nick]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "Bob");

  h.send(1, R"({"type":"nick","nick":"bob","id":7})");
  check_error(h.take_one(1), "nick_taken", id7);
  h.send(1, R"({"type":"nick","nick":"-bob","id":7})");
  check_error(h.take_one(1), "bad_nick", id7);
  h.send(1, R"({"type":"nick","id":7})");
  check_error(h.take_one(1), "bad_request", id7);

  CHECK(h.received_nothing(2));
  CHECK(h.state.nick_of(1) == std::optional<std::string>("alice"));
}
