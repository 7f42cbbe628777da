// ChatState: which deliveries are presence (joins and leaves seen by others).
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

namespace {

// The recipients of each delivery of `fx` whose line has type `type`, with
// whether it was marked presence.
std::vector<std::pair<std::set<ClientId>, bool>> deliveries_of(const Effects& fx, std::string_view type) {
  std::vector<std::pair<std::set<ClientId>, bool>> found;
  for (const auto& d : fx.deliveries)
    if (type_of(json::parse(*d.line).as_object()) == type)
      found.emplace_back(std::set<ClientId>(d.to.begin(), d.to.end()), d.presence);
  return found;
}
}  // namespace

TEST_CASE("state: a join is presence for the members, a reply for the joiner", "[state][presence]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.login(3, "carol");
  h.join(1, "den");
  h.join(2, "den");
  h.clear();
  const std::string with_id = GENERATE(std::string(R"(,"id":7)"), std::string());
  const Effects fx = h.send(3, R"({"type":"join","room":"den")" + with_id + "}");
  const auto joined = deliveries_of(fx, "joined");
  REQUIRE(joined.size() == 2);
  for (const auto& [to, presence] : joined) {
    if (to.count(3)) {
      CHECK(to == std::set<ClientId>{3});
      CHECK_FALSE(presence);
    } else {
      CHECK(to == std::set<ClientId>{1, 2});
      CHECK(presence);
    }
  }
  // Each got the event once, the joiner its id when it gave one.
  CHECK(id_of(h.take_one(3)) == (with_id.empty() ? std::nullopt : std::optional<json::value>(7)));
  CHECK(type_of(h.take_one(1)) == "joined");
  CHECK(type_of(h.take_one(2)) == "joined");
}

TEST_CASE("state: a part and a disconnect are presence for the others", "[state][presence]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(1, "den");
  h.join(2, "den");
  h.join(1, "den");
  h.join(2, "den");
  h.clear();
  const auto parted = deliveries_of(h.send(2, R"({"type":"part","room":"den"})"), "left");
  REQUIRE(parted.size() == 2);
  for (const auto& [to, presence] : parted) CHECK(presence == (to == std::set<ClientId>{1}));
  const auto dropped = deliveries_of(h.state.disconnect(2, LeaveReason::disconnect, h.now), "left");
  REQUIRE(dropped.size() == 1);
  CHECK(dropped.front().first == std::set<ClientId>{1});
  CHECK(dropped.front().second);
}

TEST_CASE("state: a message is never presence", "[state][presence]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(1, "den");
  h.join(2, "den");
  for (const auto& d : h.send(1, R"({"type":"say","room":"den","text":"hi"})").deliveries) CHECK_FALSE(d.presence);
}
