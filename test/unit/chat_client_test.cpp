// chat-client's pure parts: input lines to requests, events to screen text,
// the sanitiser, the pacer, mentions and activity, history paging.
#include <catch2/catch.hpp>

#include <chrono>
#include <clocale>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "activity.hpp"
#include "command.hpp"
#include "config.hpp"
#include "display.hpp"
#include "history_paging.hpp"
#include "pacer.hpp"

using namespace corochat::chat_client;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const InputContext in_lobby{"lobby", {"lobby", "dev"}};

json::object request_of(std::string_view line, const InputContext& context = in_lobby) {
  Command c = parse_line(line, context);
  INFO(line << " -> " << c.error);
  REQUIRE(c.ok());
  REQUIRE(c.request);
  return *c.request;
}

std::string error_of(std::string_view line, const InputContext& context = in_lobby) {
  Command c = parse_line(line, context);
  INFO(line);
  REQUIRE_FALSE(c.ok());
  REQUIRE_FALSE(c.request);
  return c.error;
}

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

DisplayContext plain_as(std::string nick) {
  DisplayContext c;
  c.own_nick = std::move(nick);
  c.colour = false;
  c.clock = [](std::int64_t ts) { return "t" + std::to_string(ts); };
  return c;
}

// wcwidth answers by LC_CTYPE; chat-client runs with a UTF-8 one.
struct Utf8CharacterType {
  std::string saved = std::setlocale(LC_CTYPE, nullptr);
  Utf8CharacterType() { REQUIRE(std::setlocale(LC_CTYPE, "C.UTF-8")); }
  ~Utf8CharacterType() { std::setlocale(LC_CTYPE, saved.c_str()); }
};

std::string repeat(std::string_view text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

}  // namespace

TEST_CASE("plain text goes to the current room", "[chat-client][command]") {
  CHECK(request_of("hello world") == obj(R"({"type":"say","room":"lobby","text":"hello world"})"));
  CHECK(request_of("  spaced  ")["text"] == "  spaced  ");
  CHECK(request_of("//not a command") == obj(R"({"type":"say","room":"lobby","text":"/not a command"})"));
  CHECK(request_of("héllo ✓\r")["text"] == "héllo ✓");
  CHECK(error_of("hi", InputContext{}) == "no current room: /join a room first");
}

TEST_CASE("an empty line does nothing", "[chat-client][command]") {
  for (auto line : {"", "   ", "\r"}) {
    Command c = parse_line(line, in_lobby);
    CHECK(c.ok());
    CHECK_FALSE(c.request);
    CHECK(c.action == LocalAction::none);
  }
}

TEST_CASE("every command becomes its request", "[chat-client][command]") {
  CHECK(request_of("/join dev2") == obj(R"({"type":"join","room":"dev2"})"));
  CHECK(request_of("/part") == obj(R"({"type":"part","room":"lobby"})"));
  CHECK(request_of("/part dev") == obj(R"({"type":"part","room":"dev"})"));
  CHECK(request_of("/msg bob hi there") == obj(R"({"type":"msg","to":"bob","text":"hi there"})"));
  CHECK(request_of("/nick alice_2") == obj(R"({"type":"nick","nick":"alice_2"})"));
  CHECK(request_of("/who") == obj(R"({"type":"who","room":"lobby"})"));
  CHECK(request_of("/who dev") == obj(R"({"type":"who","room":"dev"})"));
  CHECK(request_of("/who *") == obj(R"({"type":"who"})"));
  CHECK(request_of("/who", InputContext{}) == obj(R"({"type":"who"})"));
  CHECK(request_of("/rooms") == obj(R"({"type":"rooms"})"));
  CHECK(request_of("/history") == obj(R"({"type":"history","room":"lobby","limit":20})"));
  CHECK(request_of("/history 5") == obj(R"({"type":"history","room":"lobby","limit":5})"));
  CHECK(request_of("/quit") == obj(R"({"type":"quit"})"));
  CHECK(request_of("/quit gone fishing") == obj(R"({"type":"quit","reason":"gone fishing"})"));
}

TEST_CASE("local commands", "[chat-client][command]") {
  Command help = parse_line("/help", in_lobby);
  CHECK(help.action == LocalAction::help);
  CHECK_FALSE(help.request);
  CHECK(help_text().find("/join ROOM") != std::string_view::npos);
  Command sw = parse_line("/switch dev", in_lobby);
  CHECK(sw.action == LocalAction::switch_room);
  CHECK(sw.argument == "dev");
  CHECK_FALSE(sw.request);
}

TEST_CASE("bad commands are reported and send nothing", "[chat-client][command]") {
  CHECK(error_of("/join") == "usage: /join ROOM");
  CHECK(error_of("/join a b") == "usage: /join ROOM");
  CHECK(error_of("/join -bad").starts_with("bad room name \"-bad\""));
  CHECK(error_of("/join caf\xc3\xa9").starts_with("bad room name"));
  CHECK(error_of("/part", InputContext{}) == "no current room: name one");
  CHECK(error_of("/part a b") == "usage: /part [ROOM]");
  CHECK(error_of("/switch") == "usage: /switch ROOM");
  CHECK(error_of("/switch elsewhere") == "not in elsewhere: /join it first");
  CHECK(error_of("/msg") == "usage: /msg NICK TEXT");
  CHECK(error_of("/msg bob") == "usage: /msg NICK TEXT");
  CHECK(error_of("/msg b@d hi") == "bad nick \"b@d\"");
  CHECK(error_of("/nick") == "usage: /nick NICK");
  CHECK(error_of("/nick .dot").starts_with("bad nick \".dot\""));
  CHECK(error_of("/nick " + std::string(33, 'a')).starts_with("bad nick"));
  CHECK(error_of("/who a b") == "usage: /who [ROOM]");
  CHECK(error_of("/rooms x") == "usage: /rooms");
  CHECK(error_of("/history 0") == "usage: /history [N], N a positive number");
  CHECK(error_of("/history -3") == "usage: /history [N], N a positive number");
  CHECK(error_of("/history x") == "usage: /history [N], N a positive number");
  CHECK(error_of("/history", InputContext{}) == "no current room: /join a room first");
  CHECK(error_of("/frobnicate") == "unknown command /frobnicate (try /help)");
}

TEST_CASE("completion of commands and nicks", "[chat-client][command]") {
  const std::vector<std::string> nicks = {"bob", "Bobby", "carol"};
  CHECK(complete("/j", true, nicks) == std::vector<std::string>{"/join"});
  CHECK(complete("/h", true, nicks) == std::vector<std::string>{"/help", "/history"});
  CHECK(complete("bo", false, nicks) == std::vector<std::string>{"Bobby", "bob"});
  CHECK(complete("BO", true, nicks) == std::vector<std::string>{"Bobby", "bob"});
  CHECK(complete("z", false, nicks).empty());
}

TEST_CASE("a nick from a login name", "[chat-client][command]") {
  CHECK(nick_from_login("alice") == "alice");
  CHECK(nick_from_login("jean pierre") == "jean_pierre");
  CHECK(nick_from_login("-.x") == "x");
  CHECK(nick_from_login("élan") == "__lan");
  CHECK(nick_from_login(std::string(40, 'a')) == std::string(32, 'a'));
  CHECK(nick_from_login("") == "user");
  CHECK(nick_from_login("..") == "user");
}

TEST_CASE("the sanitiser neutralises control characters and keeps UTF-8", "[chat-client][sanitize]") {
  CHECK(sanitize("héllo ✓") == "héllo ✓");
  CHECK(sanitize("emoji 😀 ok") == "emoji 😀 ok");
  CHECK(sanitize("\x1b[2J\x1b]0;pwned\x07") == "^[[2J^[]0;pwned^G");
  CHECK(sanitize(std::string("a\0b", 3)) == "a^@b");
  CHECK(sanitize("tab\there\r\nnext") == "tab^Ihere^M^Jnext");
  CHECK(sanitize("del\x7f") == "del^?");
  CHECK(sanitize("c1 \xc2\x9b" "31m") == "c1 \\u009b31m");  // CSI as a C1 control
  CHECK(sanitize("\xc2\x80\xc2\x9f\xc2\xa0") == "\\u0080\\u009f\xc2\xa0");  // NBSP is printable
  CHECK(sanitize("bidi \xe2\x80\xae") == "bidi \\u202e");
  CHECK(sanitize("bad \xff\xfe") == "bad \\xff\\xfe");
  CHECK(sanitize("overlong \xc0\xaf") == "overlong \\xc0\\xaf");
  CHECK(sanitize("cut \xe2\x9c") == "cut \\xe2\\x9c");
  // Nothing below 0x20 and no DEL survives.
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  for (char c : sanitize(all)) {
    CHECK(static_cast<unsigned char>(c) >= 0x20);
    CHECK(c != 0x7f);
  }
}

TEST_CASE("screen columns of typed text: accents, CJK, emoji, combining marks", "[chat-client][columns]") {
  Utf8CharacterType utf8;
  CHECK(display_columns("") == 0);
  CHECK(display_columns("[lobby] hello") == 13);
  CHECK(display_columns("héllo ✓") == 7);
  CHECK(display_columns("ça, über, ñ") == 11);
  CHECK(display_columns("日本語") == 6);
  CHECK(display_columns("한국어 中文") == 11);
  CHECK(display_columns("😀") == 2);
  CHECK(display_columns("héllo ✓ 日本語 😀 done") == 22);
  CHECK(display_columns("e\u0301") == 1);             // e and a combining acute accent
  CHECK(display_columns("a\u0300\u0301\u0302b") == 2);  // marks stacked on one letter
  CHECK(display_columns("zero\u200bwidth") == 9);      // zero-width space
  // As the line editor shows them: ^A, and a tab to the next multiple of 8.
  CHECK(display_columns("a\x01" "b") == 4);
  CHECK(display_columns("ab\tc") == 9);
}

TEST_CASE("screen columns of bytes that are not UTF-8: one each, never a crash", "[chat-client][columns]") {
  Utf8CharacterType utf8;
  CHECK(display_columns("bad \xff\xfe") == 6);
  CHECK(display_columns("cut \xe2\x9c") == 6);
  CHECK(display_columns("\xe6\x97") == 2);           // 日 cut short
  CHECK(display_columns("overlong \xc0\xaf") == 11);
  CHECK(display_columns("\x80\x80") == 2);           // continuation bytes alone
  CHECK(display_columns("\xed\xa0\x80") == 3);       // a UTF-16 surrogate
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte.push_back(static_cast<char>(c));
  CHECK(display_columns(every_byte) > 0);
  CHECK(cursor_after(every_byte, 7).column < 7);
}

TEST_CASE("the cursor's row after a prompt and input on a narrow terminal", "[chat-client][columns]") {
  Utf8CharacterType utf8;
  const std::string prompt = "[lobby] ";
  auto at = cursor_after(prompt + repeat("x", 11), 20);
  CHECK((at.row == 0 && at.column == 19));
  at = cursor_after(prompt + repeat("x", 12), 20);  // a full row wraps at once
  CHECK((at.row == 1 && at.column == 0));
  at = cursor_after(prompt + repeat("日", 6), 20);
  CHECK((at.row == 1 && at.column == 0));
  at = cursor_after(prompt + repeat("日", 7), 20);
  CHECK((at.row == 1 && at.column == 2));
  // From an odd column the last column stays empty: the wide character that
  // does not fit starts the next row, so rows are more than columns / width.
  at = cursor_after(prompt + "a" + repeat("日", 5), 20);
  CHECK((at.row == 0 && at.column == 19));
  at = cursor_after(prompt + "a" + repeat("日", 6), 20);
  CHECK((at.row == 1 && at.column == 2));
  at = cursor_after(prompt + "a" + repeat("😀", 15), 20);
  CHECK((at.row == 2 && at.column == 0));
  at = cursor_after(repeat("é", 250), 80);
  CHECK((at.row == 3 && at.column == 10));
  at = cursor_after(repeat("日", 100), 0);  // unbounded
  CHECK((at.row == 0 && at.column == 200));
}

TEST_CASE("display of every event, colour off", "[chat-client][display]") {
  const DisplayContext c = plain_as("alice");
  CHECK(format_event(obj(R"({"type":"message","room":"lobby","from":"bob","text":"hi","ts":5,"seq":1})"), c) ==
        "t5 [lobby] <bob> hi");
  CHECK(format_event(obj(R"({"type":"message","room":"lobby","from":"Alice","text":"me","ts":5,"seq":2})"), c) ==
        "t5 [lobby] <Alice (me)> me");
  CHECK(format_event(obj(R"({"type":"message","room":"lobby","from":"bob","text":"\u001b[2Jx","ts":5,"seq":3})"),
                     c) == "t5 [lobby] <bob> ^[[2Jx");
  CHECK(format_event(obj(R"({"type":"private","from":"bob","to":"alice","text":"psst","ts":6})"), c) ==
        "t6 *bob* psst");
  CHECK(format_event(obj(R"({"type":"private","from":"alice","to":"bob","text":"yes","ts":6})"), c) ==
        "t6 -> *bob* yes");
  CHECK(format_event(obj(R"({"type":"joined","room":"dev","nick":"bob","ts":7})"), c) == "t7 -- bob joined dev");
  CHECK(format_event(obj(R"({"type":"left","room":"dev","nick":"bob","reason":"part","ts":8})"), c) ==
        "t8 -- bob left dev");
  CHECK(format_event(obj(R"({"type":"left","room":"dev","nick":"bob","reason":"timeout","ts":8})"), c) ==
        "t8 -- bob timed out dev");
  CHECK(format_event(obj(R"({"type":"nick","old":"bob","new":"rob","ts":9})"), c) ==
        "t9 -- bob is now known as rob");
  CHECK(format_event(obj(R"({"type":"who","room":"dev","members":["alice","bob"]})"), c) ==
        "-- in dev: alice, bob");
  CHECK(format_event(obj(R"({"type":"who","members":[]})"), c) == "-- online: nobody");
  CHECK(format_event(obj(R"({"type":"rooms","rooms":[{"room":"dev","members":2},{"room":"lobby","members":5}]})"),
                     c) == "-- rooms: dev (2), lobby (5)");
  CHECK(format_event(obj(R"({"type":"history","room":"dev","messages":[
          {"type":"message","room":"dev","from":"bob","text":"one","ts":1,"seq":1},
          {"type":"message","room":"dev","from":"alice","text":"two","ts":2,"seq":2}]})"),
                     c) == "-- history of dev (2 messages)\nt1 [dev] <bob> one\nt2 [dev] <alice (me)> two");
  CHECK(format_event(obj(R"({"type":"welcome","nick":"alice","server":"chatd/0.1.0","protocol":1,"epoch":"e",
          "token":"t","rooms":["lobby"],"limits":{},"motd":"be nice\u0007"})"),
                     c) == "-- connected to chatd/0.1.0 as alice; rooms: lobby\n-- be nice^G");
  CHECK(format_event(obj(R"({"type":"bye","reason":"shutdown"})"), c) == "-- the server is shutting down");
  CHECK(format_event(obj(R"({"type":"bye","reason":"quit"})"), c) == "-- goodbye");
  CHECK(format_event(obj(R"({"type":"error","code":"not_in_room","message":"not a member of x"})"), c) ==
        "!! not a member of that room");
  const json::object say = obj(R"({"type":"say","room":"x","text":"hi"})");
  CHECK(format_event(obj(R"({"type":"error","code":"not_in_room","message":"m","id":1})"), c, &say) ==
        "!! not a member of x");
  CHECK(format_event(obj(R"({"type":"ping"})"), c).empty());
  CHECK(format_event(obj(R"({"type":"pong"})"), c).empty());
  CHECK(format_event(obj(R"({"type":"surprise"})"), c) == "-- (unknown event surprise)");
}

TEST_CASE("display with colour", "[chat-client][display]") {
  DisplayContext c = plain_as("alice");
  c.colour = true;
  CHECK(format_event(obj(R"({"type":"message","room":"lobby","from":"bob","text":"hi","ts":5,"seq":1})"), c) ==
        "t5 [lobby] \x1b[36m<bob>\x1b[0m hi");
  CHECK(format_event(obj(R"({"type":"message","room":"lobby","from":"alice","text":"hi","ts":5,"seq":1})"), c) ==
        "t5 [lobby] \x1b[1;32m<alice (me)>\x1b[0m hi");
  CHECK(format_event(obj(R"({"type":"joined","room":"dev","nick":"bob","ts":7})"), c) ==
        "\x1b[2mt7 -- bob joined dev\x1b[0m");
  CHECK(format_event(obj(R"({"type":"private","from":"bob","to":"alice","text":"psst","ts":6})"), c) ==
        "t6 \x1b[35m*bob*\x1b[0m psst");
  CHECK(format_event(obj(R"({"type":"error","code":"no_such_nick","message":"m"})"), c) ==
        "\x1b[31m!! no such nick\x1b[0m");
  // Text from the network never carries its own escapes, colour or not.
  const std::string evil =
      format_event(obj(R"({"type":"message","room":"lobby","from":"bob","text":"\u001b]0;x\u0007","ts":5,"seq":1})"),
                   c);
  CHECK(evil.find("\x1b]") == std::string::npos);
  CHECK(evil.find("^[]0;x^G") != std::string::npos);
}

TEST_CASE("every error code in plain words", "[chat-client][display]") {
  const char* codes[] = {"bad_json",      "bad_request", "unknown_type",   "line_too_long", "not_registered",
                         "already_registered", "auth_failed", "bad_nick", "nick_taken",    "bad_room",
                         "not_in_room",   "already_joined", "no_such_nick", "text_too_long", "rate_limited",
                         "too_many_rooms", "server_full"};
  for (const char* code : codes) {
    const std::string words = describe_error(code, "server words");
    INFO(code << ": " << words);
    CHECK(words.find(code) == std::string::npos);  // never the bare code
    CHECK_FALSE(words.empty());
  }
  const json::object msg = obj(R"({"type":"msg","to":"zed","text":"x"})");
  CHECK(describe_error("no_such_nick", "m", &msg) == "nobody is called zed");
  const json::object join = obj(R"({"type":"join","room":"dev"})");
  CHECK(describe_error("already_joined", "m", &join) == "already in dev");
  const json::object nick = obj(R"({"type":"nick","nick":"bob"})");
  CHECK(describe_error("nick_taken", "m", &nick) == "the nick bob is taken");
  CHECK(describe_error("brand_new", "what") == "error brand_new: what");
}

TEST_CASE("local time is HH:MM", "[chat-client][display]") {
  const std::string t = local_time(1764093600000);
  REQUIRE(t.size() == 5);
  CHECK(t[2] == ':');
}

TEST_CASE("the pacer keeps under the server's rate and burst", "[chat-client][pacer]") {
  using Clock = Pacer::Clock;
  const Clock::time_point t0{};
  Pacer unlimited;
  for (int i = 0; i < 1000; ++i) CHECK(unlimited.take(t0) == Clock::duration::zero());

  Pacer pacer;
  pacer.reset(10, 20, t0);  // hello already took one token
  int at_once = 0;
  while (pacer.take(t0) == Clock::duration::zero()) ++at_once;
  CHECK(at_once == 18);  // burst less a margin of one, less the hello
  const auto wait = pacer.take(t0);
  CHECK(wait > 100ms);  // 10/s with a 10% margin: about 111 ms
  CHECK(wait < 120ms);
  CHECK(pacer.take(t0 + wait) == Clock::duration::zero());

  // Over ten seconds it sends no more than the server allows.
  int sent = 0;
  for (auto t = t0 + wait; t < t0 + wait + 10s; t += 1ms)
    if (pacer.take(t) == Clock::duration::zero()) ++sent;
  CHECK(sent <= 100);
  CHECK(sent >= 85);

  // After a rate_limited reply it starts again from nothing.
  Pacer drained;
  drained.reset(10, 20, t0);
  drained.drain(t0);
  CHECK(drained.take(t0) > Clock::duration::zero());
}

TEST_CASE("a mention is the nick as a whole word, any case", "[chat-client][mention]") {
  const std::vector<std::string> none;
  for (const char* text : {"alice", "hi alice", "alice: look", "ALICE!", "Hi Alice, ok?", "@alice", "(alice)",
                           "<alice>", "'alice'", "thanks alice.", "really alice...", "alice?!", "x,alice,y",
                           "\"alice\"", "alice\tthere"}) {
    INFO(text);
    CHECK(is_mention(text, "alice", none));
  }
  for (const char* text : {"malice", "alice_x", "alice-x", "alice.x", "xalice", "alice2", "_alice", "-alice",
                           ".alice", "ali ce", "", "alic"}) {
    INFO(text);
    CHECK_FALSE(is_mention(text, "alice", none));
  }
  // Nicks may hold - _ . themselves; they match only whole.
  CHECK(is_mention("ping a-b_c.d now", "A-B_C.D", none));
  CHECK_FALSE(is_mention("ping a-b_c.de now", "a-b_c.d", none));
  CHECK(is_mention("is bob. here", "bob.", none));
  CHECK_FALSE(is_mention("anything", "", none));
}

TEST_CASE("a mention among UTF-8 text: letters beyond ASCII are boundaries", "[chat-client][mention]") {
  const std::vector<std::string> none;
  CHECK(is_mention("héllo alice ✓", "alice", none));
  CHECK(is_mention("✓alice✓", "alice", none));
  CHECK(is_mention("日本語alice日本語", "alice", none));
  CHECK(is_mention("😀alice", "alice", none));
  CHECK(is_mention("« alice »", "alice", none));
  CHECK(is_mention("alicé", "alic", none));  // é is not a nick character
  CHECK_FALSE(is_mention("\xc3\xa9" "alice_", "alice", none));
}

TEST_CASE("highlight words are mentions too", "[chat-client][mention]") {
  const std::vector<std::string> words = {"deploy", "Oncall"};
  CHECK(is_mention("who is ONCALL today", "alice", words));
  CHECK(is_mention("deploy: done", "alice", words));
  CHECK_FALSE(is_mention("redeployed", "alice", words));
  CHECK_FALSE(is_mention("nothing here", "alice", words));
  CHECK_FALSE(is_mention("anything", "alice", {""}));
}

TEST_CASE("activity counts lines per room, except the one being looked at", "[chat-client][activity]") {
  const std::vector<std::string> rooms = {"lobby", "dev", "ops"};
  Activity a;
  CHECK(a.indicator(rooms).empty());
  a.count_room("lobby", false, "lobby");  // seen as it arrives
  a.count_room("ops", false, "lobby");
  a.count_room("dev", false, "lobby");
  a.count_room("dev", false, "lobby");
  a.count_room("dev", false, "lobby");
  CHECK(a.indicator(rooms) == "dev:3 ops:1");  // in join order, not arrival order
  a.count_room("ops", true, "lobby");
  a.count_room("ops", false, "lobby");  // a later plain line keeps the mark
  CHECK(a.indicator(rooms) == "dev:3 ops:3!");
  a.clear_room("dev");
  CHECK(a.indicator(rooms) == "ops:3!");
  a.clear_room("ops");
  CHECK(a.indicator(rooms).empty());
  // A room the user is no longer in is not shown.
  a.count_room("gone", false, "lobby");
  CHECK(a.indicator(rooms).empty());
}

TEST_CASE("private messages are mentions, cleared by answering", "[chat-client][activity]") {
  const std::vector<std::string> rooms = {"lobby", "dev"};
  Activity a;
  a.count_private("bob");
  a.count_room("dev", false, "lobby");
  a.count_private("Bob");
  a.count_private("carol");
  CHECK(a.indicator(rooms) == "dev:1 *Bob*:2! *carol*:1!");
  a.clear_private("BOB");
  CHECK(a.indicator(rooms) == "dev:1 *carol*:1!");
}

TEST_CASE("the next room with activity comes after the current one, wrapping", "[chat-client][activity]") {
  const std::vector<std::string> rooms = {"a", "b", "c", "d"};
  Activity a;
  CHECK_FALSE(a.next(rooms, "a"));
  a.count_room("a", false, "c");
  a.count_room("d", false, "c");
  CHECK(a.next(rooms, "c")->name == "d");
  CHECK(a.next(rooms, "b")->name == "d");
  a.clear_room("d");
  CHECK(a.next(rooms, "c")->name == "a");  // wrapped around
  a.count_private("bob");
  CHECK(a.next(rooms, "c")->name == "*bob*");  // after the rooms, before wrapping
  auto next = a.next(rooms, "a");
  REQUIRE(next);
  CHECK(next->name == "*bob*");
  CHECK(next->lines == 1);
  CHECK(next->mention);
}

TEST_CASE("commands for daily use: /me, /1../9, /next, /ignore", "[chat-client][command]") {
  CHECK(request_of("/me waves hello") == obj(R"({"type":"say","room":"lobby","text":"waves hello","action":true})"));
  CHECK(error_of("/me") == "usage: /me TEXT");
  CHECK(error_of("/me hi", InputContext{}) == "no current room: /join a room first");

  Command second = parse_line("/2", in_lobby);
  CHECK(second.action == LocalAction::switch_room);
  CHECK(second.argument == "dev");
  CHECK(parse_line("/1", in_lobby).argument == "lobby");
  CHECK(error_of("/3") == "no room 3: you are in 2");
  CHECK(error_of("/2 x") == "usage: /2 (no arguments)");
  CHECK(error_of("/0") == "unknown command /0 (try /help)");
  CHECK(error_of("/10") == "unknown command /10 (try /help)");

  CHECK(parse_line("/next", in_lobby).action == LocalAction::next_active);
  CHECK(error_of("/next dev") == "usage: /next");

  Command ignore = parse_line("/ignore Bob", in_lobby);
  CHECK(ignore.action == LocalAction::ignore);
  CHECK(ignore.argument == "Bob");
  CHECK_FALSE(ignore.request);
  CHECK(parse_line("/ignore", in_lobby).action == LocalAction::list_ignored);
  CHECK(parse_line("/unignore bob", in_lobby).action == LocalAction::unignore);
  CHECK(error_of("/unignore") == "usage: /unignore NICK");
  CHECK(error_of("/ignore a b") == "usage: /ignore NICK");
  CHECK(error_of("/ignore b@d") == "bad nick \"b@d\"");

  CHECK(complete("/ig", true, {}) == std::vector<std::string>{"/ignore"});
  CHECK(complete("/n", true, {}) == std::vector<std::string>{"/next", "/nick"});
  for (auto command : {"/me TEXT", "/next", "/1 ... /9", "/ignore [NICK]", "/unignore NICK"})
    CHECK(help_text().find(command) != std::string_view::npos);
}

TEST_CASE("actions read * nick text, in rooms, private messages and history", "[chat-client][display]") {
  const DisplayContext c = plain_as("alice");
  CHECK(format_event(obj(R"({"type":"message","room":"lobby","from":"bob","text":"waves","ts":5,"seq":1,
                             "action":true})"), c) == "t5 [lobby] * bob waves");
  CHECK(format_event(obj(R"({"type":"message","room":"lobby","from":"alice","text":"waves","ts":5,"seq":1,
                             "action":true})"), c) == "t5 [lobby] * alice waves");
  CHECK(format_event(obj(R"({"type":"message","room":"lobby","from":"bob","text":"waves","ts":5,"seq":1,
                             "action":false})"), c) == "t5 [lobby] <bob> waves");
  CHECK(format_event(obj(R"({"type":"private","from":"bob","to":"alice","text":"nods","ts":6,"action":true})"), c) ==
        "t6 *bob* * bob nods");
  CHECK(format_event(obj(R"({"type":"private","from":"alice","to":"bob","text":"nods","ts":6,"action":true})"), c) ==
        "t6 -> *bob* * alice nods");
  CHECK(format_event(obj(R"({"type":"history","room":"dev","messages":[
          {"type":"message","room":"dev","from":"bob","text":"shrugs","ts":1,"seq":1,"action":true}]})"),
                     c) == "-- history of dev (1 messages)\nt1 [dev] * bob shrugs");
  DisplayContext colour = c;
  colour.colour = true;
  CHECK(format_event(obj(R"({"type":"message","room":"lobby","from":"bob","text":"waves","ts":5,"seq":1,
                             "action":true})"), colour) == "t5 [lobby] \x1b[36m* bob\x1b[0m waves");
}

TEST_CASE("a mention is set off in bold reverse with colours on", "[chat-client][display][mention]") {
  DisplayContext c = plain_as("alice");
  c.colour = true;
  c.highlights = {"deploy"};
  CHECK(format_event(obj(R"({"type":"message","room":"dev","from":"bob","text":"hi Alice!","ts":5,"seq":1})"), c) ==
        "t5 [dev] \x1b[1;7m<bob> hi Alice!\x1b[0m");
  CHECK(format_event(obj(R"({"type":"message","room":"dev","from":"bob","text":"deploy now","ts":5,"seq":1})"), c) ==
        "t5 [dev] \x1b[1;7m<bob> deploy now\x1b[0m");
  CHECK(format_event(obj(R"({"type":"message","room":"dev","from":"bob","text":"pokes alice","ts":5,"seq":1,
                             "action":true})"), c) == "t5 [dev] \x1b[1;7m* bob pokes alice\x1b[0m");
  // Not a mention: malice; nor is one's own line naming oneself.
  CHECK(format_event(obj(R"({"type":"message","room":"dev","from":"bob","text":"malice","ts":5,"seq":1})"), c) ==
        "t5 [dev] \x1b[36m<bob>\x1b[0m malice");
  CHECK(format_event(obj(R"({"type":"message","room":"dev","from":"alice","text":"alice here","ts":5,"seq":1})"),
                     c) == "t5 [dev] \x1b[1;32m<alice (me)>\x1b[0m alice here");
  // Without colour the line reads as any other (the bell and the prompt tell).
  c.colour = false;
  CHECK(format_event(obj(R"({"type":"message","room":"dev","from":"bob","text":"hi alice","ts":5,"seq":1})"), c) ==
        "t5 [dev] <bob> hi alice");

  CHECK(is_mention_event(obj(R"({"type":"private","from":"bob","to":"alice","text":"x","ts":1})"), c));
  CHECK_FALSE(is_mention_event(obj(R"({"type":"private","from":"alice","to":"bob","text":"bob","ts":1})"), c));
  CHECK_FALSE(is_mention_event(obj(R"({"type":"joined","room":"dev","nick":"alice","ts":1})"), c));
}

TEST_CASE("an ignored nick's lines are not shown, in any case of its letters", "[chat-client][display][ignore]") {
  DisplayContext c = plain_as("alice");
  c.ignored = {"troll"};
  for (const char* line : {R"({"type":"message","room":"dev","from":"Troll","text":"x","ts":1,"seq":1})",
                           R"({"type":"private","from":"TROLL","to":"alice","text":"x","ts":1})",
                           R"({"type":"joined","room":"dev","nick":"troll","ts":1})",
                           R"({"type":"left","room":"dev","nick":"troll","reason":"quit","ts":1})",
                           R"({"type":"nick","old":"troll","new":"nice","ts":1})",
                           R"({"type":"nick","old":"nice","new":"troll","ts":1})"}) {
    INFO(line);
    CHECK(format_event(obj(line), c).empty());
  }
  CHECK(format_event(obj(R"({"type":"message","room":"dev","from":"bob","text":"troll","ts":1,"seq":2})"), c) ==
        "t1 [dev] <bob> troll");
  CHECK(format_event(obj(R"({"type":"history","room":"dev","messages":[
          {"type":"message","room":"dev","from":"troll","text":"spam","ts":1,"seq":1},
          {"type":"message","room":"dev","from":"bob","text":"fine","ts":2,"seq":2}]})"),
                     c) == "-- history of dev (1 messages)\nt2 [dev] <bob> fine");
  CHECK(format_event(obj(R"({"type":"who","room":"dev","members":["alice","troll"]})"), c) == "-- in dev: alice, troll");
}

TEST_CASE("a read of more than five lines is a paste, split into its lines", "[chat-client][paste]") {
  CHECK_FALSE(is_paste("hello"));
  CHECK_FALSE(is_paste("one\rtwo\rthree\rfour\rfive\r"));  // five Enters: could be typed ahead
  CHECK(is_paste("1\r2\r3\r4\r5\r6\r"));
  CHECK(is_paste("1\n2\n3\n4\n5\n6"));  // the sixth line, not ended yet, counts
  CHECK_FALSE(is_paste("one long line, no end, however long it is........................"));
  CHECK_FALSE(is_paste("1\r\n2\r\n3\r\n4\r\n5\r\n"));  // \r\n is one line end
  CHECK(is_paste("1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n"));
  CHECK(paste_lines("a\rb\r\nc\n\nd") == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(paste_lines("/quit\r  x \r") == std::vector<std::string>{"/quit", "  x "});
  CHECK(paste_lines("\r\n\r\n").empty());
}

TEST_CASE("the config file: keys, values, comments", "[chat-client][config]") {
  const ConfigResult r = parse_config(
      "# chat-client settings\n"
      "server = \"chat.example:7000\"\n"
      "nick = \"alice\"   # trailing comment\n"
      "  room=\"dev\"\r\n"
      "\n"
      "port = 7001\n"
      "highlight = [\"deploy\", \"on#call\" ]\n"
      "highlight = \"say \\\"hi\\\"\"\n"
      "bell = false\n"
      "tls = true\n"
      "input_history = false\n"
      "ca = \"/etc/ssl/c\\\\a.pem\"\n");
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.config.server == "chat.example:7000");
  CHECK(r.config.nick == "alice");
  CHECK(r.config.room == "dev");
  CHECK(r.config.port == "7001");
  CHECK(r.config.highlight == std::vector<std::string>{"deploy", "on#call", "say \"hi\""});
  CHECK(r.config.bell == false);
  CHECK(r.config.tls == true);
  CHECK(r.config.input_history == false);
  CHECK(r.config.ca == "/etc/ssl/c\\a.pem");
  CHECK_FALSE(r.config.host);
  CHECK(parse_config("").error.empty());
  CHECK(parse_config("port = \"7000\"").config.port == "7000");
}

TEST_CASE("the config file: mistakes name their line", "[chat-client][config]") {
  CHECK(parse_config("nick = \"a\"\nnik = \"b\"\n").error == "line 2: unknown key nik");
  CHECK(parse_config("[client]\n").error == "line 1: sections are not supported");
  CHECK(parse_config("nick = alice\n").error == "line 1: bad value for nick");
  CHECK(parse_config("nick = \"alice\n").error == "line 1: bad value for nick");
  CHECK(parse_config("nick = \"a\" x\n").error == "line 1: unexpected text after the value of nick");
  CHECK(parse_config("nick = 3\n").error == "line 1: nick must be a \"string\"");
  CHECK(parse_config("bell = \"no\"\n").error == "line 1: bell must be true or false");
  CHECK(parse_config("port = true\n").error == "line 1: port must be a number");
  CHECK(parse_config("highlight = [\"a\" \"b\"]\n").error == "line 1: bad value for highlight");
  CHECK(parse_config("nick \"a\"\n").error == "line 1: expected key = value");
  CHECK(parse_config("nick = \"\\q\"\n").error == "line 1: bad value for nick");
}

namespace {

// A history reply of `room` with one message per seq, sent at ts = 100 * seq.
json::object history_of(std::string_view room, std::vector<std::uint64_t> seqs) {
  json::array messages;
  for (auto seq : seqs) {
    json::object m;
    m["type"] = "message";
    m["room"] = room;
    m["from"] = "bob";
    m["text"] = "m" + std::to_string(seq);
    m["ts"] = 100 * seq;
    m["seq"] = seq;
    messages.push_back(std::move(m));
  }
  json::object h;
  h["type"] = "history";
  h["room"] = room;
  h["messages"] = std::move(messages);
  return h;
}

std::vector<std::uint64_t> seqs_of(const RoomCatchUp::Page& page) {
  std::vector<std::uint64_t> seqs;
  for (const json::object* m : page.missed) seqs.push_back(m->at("seq").as_uint64());
  return seqs;
}

}  // namespace

TEST_CASE("the catch-up asks for what came after the last seq seen", "[chat-client][history-paging]") {
  CHECK(history_after("dev", 41, 100) == obj(R"({"type":"history","room":"dev","after":41,"limit":100})"));
  CHECK(history_after("dev", 41, 100, 50) ==
        obj(R"({"type":"history","room":"dev","after":41,"limit":100,"before":50})"));
  RoomCatchUp catch_up("lobby", 7, 0, 100);
  CHECK(catch_up.next_request() == obj(R"({"type":"history","room":"lobby","after":7,"limit":100})"));
}

TEST_CASE("the catch-up pages forward from the last message shown until a page comes back empty",
          "[chat-client][history-paging]") {
  RoomCatchUp catch_up("lobby", 5, 0, 3);
  const json::object full = history_of("lobby", {6, 7, 8});
  const RoomCatchUp::Page first = catch_up.take_reply(full);
  CHECK(seqs_of(first) == std::vector<std::uint64_t>{6, 7, 8});
  CHECK(first.first);
  CHECK_FALSE(first.done);
  CHECK(first.no_longer_kept == 0);
  CHECK(catch_up.next_request() == obj(R"({"type":"history","room":"lobby","after":8,"limit":3})"));
  // A short page may be one that long messages filled: the next one tells.
  const json::object short_page = history_of("lobby", {9});
  const RoomCatchUp::Page second = catch_up.take_reply(short_page);
  CHECK(seqs_of(second) == std::vector<std::uint64_t>{9});
  CHECK_FALSE(second.first);
  CHECK_FALSE(second.done);
  CHECK(catch_up.next_request() == obj(R"({"type":"history","room":"lobby","after":9,"limit":3})"));
  const RoomCatchUp::Page last = catch_up.take_reply(history_of("lobby", {}));
  CHECK(last.missed.empty());
  CHECK_FALSE(last.first);
  CHECK(last.done);
  CHECK(last.skipped == 0);
}

TEST_CASE("nothing missed: one empty page and the catch-up is done", "[chat-client][history-paging]") {
  RoomCatchUp catch_up("lobby", 12, 0, 100);
  const RoomCatchUp::Page page = catch_up.take_reply(history_of("lobby", {}));
  CHECK(page.missed.empty());
  CHECK_FALSE(page.first);
  CHECK(page.done);
}

TEST_CASE("the catch-up stops at the first message that came live and shows none of those",
          "[chat-client][history-paging]") {
  RoomCatchUp catch_up("lobby", 5, 0, 100);
  catch_up.note_live(9);
  catch_up.note_live(10);  // only the first live one bounds the catch-up
  CHECK(catch_up.next_request() == obj(R"({"type":"history","room":"lobby","after":5,"limit":100,"before":9})"));
  const json::object reply = history_of("lobby", {6, 7, 8, 9, 10});
  const RoomCatchUp::Page page = catch_up.take_reply(reply);
  CHECK(seqs_of(page) == std::vector<std::uint64_t>{6, 7, 8});
  CHECK(page.done);  // 8 is right before the first live one: no need to ask again
}

TEST_CASE("a live message during a paged catch-up bounds the next page", "[chat-client][history-paging]") {
  RoomCatchUp catch_up("lobby", 0, 0, 2);
  const json::object first_page = history_of("lobby", {1, 2});
  CHECK(seqs_of(catch_up.take_reply(first_page)) == std::vector<std::uint64_t>{1, 2});
  catch_up.note_live(6);
  CHECK(catch_up.next_request() == obj(R"({"type":"history","room":"lobby","after":2,"limit":2,"before":6})"));
  const json::object second_page = history_of("lobby", {3, 4});
  const RoomCatchUp::Page second = catch_up.take_reply(second_page);
  CHECK(seqs_of(second) == std::vector<std::uint64_t>{3, 4});
  CHECK_FALSE(second.done);  // 5 may still be there
  const json::object third_page = history_of("lobby", {5});
  const RoomCatchUp::Page third = catch_up.take_reply(third_page);
  CHECK(seqs_of(third) == std::vector<std::uint64_t>{5});
  CHECK(third.done);
}

TEST_CASE("the catch-up shows at most its cap and counts what it skipped", "[chat-client][history-paging]") {
  RoomCatchUp catch_up("lobby", 10, 0, 3, 5);
  const json::object first_page = history_of("lobby", {11, 12, 13});
  CHECK(catch_up.take_reply(first_page).missed.size() == 3);
  // The last page asks only for what the cap leaves.
  CHECK(catch_up.next_request() == obj(R"({"type":"history","room":"lobby","after":13,"limit":2})"));
  const json::object second_page = history_of("lobby", {14, 15});
  const RoomCatchUp::Page second = catch_up.take_reply(second_page);
  CHECK(seqs_of(second) == std::vector<std::uint64_t>{14, 15});
  CHECK_FALSE(second.done);
  CHECK(catch_up.counting_skipped());
  // Then the newest message before what came live tells how many were skipped.
  catch_up.note_live(41);
  CHECK(catch_up.next_request() == obj(R"({"type":"history","room":"lobby","limit":1,"before":41})"));
  const json::object newest = history_of("lobby", {40});
  const RoomCatchUp::Page count = catch_up.take_reply(newest);
  CHECK(count.missed.empty());
  CHECK(count.done);
  CHECK(count.skipped == 25);
}

TEST_CASE("messages gone from the server before the first missed one are counted", "[chat-client][history-paging]") {
  RoomCatchUp catch_up("lobby", 5, 0, 100);
  const json::object reply = history_of("lobby", {9, 10});
  const RoomCatchUp::Page page = catch_up.take_reply(reply);
  CHECK(seqs_of(page) == std::vector<std::uint64_t>{9, 10});
  CHECK(page.no_longer_kept == 3);
}

TEST_CASE("without a seq seen the catch-up shows the latest messages since the room was joined",
          "[chat-client][history-paging]") {
  RoomCatchUp catch_up("quiet", std::nullopt, 200, 50);
  CHECK(catch_up.next_request() == obj(R"({"type":"history","room":"quiet","limit":50})"));
  const json::object reply = history_of("quiet", {1, 2, 3});  // ts 100, 200, 300
  const RoomCatchUp::Page page = catch_up.take_reply(reply);
  CHECK(seqs_of(page) == std::vector<std::uint64_t>{2, 3});
  CHECK(page.first);
  CHECK(page.done);
}

TEST_CASE("repeated /history pages back from the oldest message shown until there is nothing older",
          "[chat-client][history-paging]") {
  HistoryPager pager;
  json::object request = request_of("/history 3");
  pager.prepare(request);
  CHECK(request == obj(R"({"type":"history","room":"lobby","limit":3})"));
  CHECK_FALSE(pager.take_reply(request, history_of("lobby", {7, 8, 9})));

  json::object again = request_of("/history 3");
  pager.prepare(again);
  CHECK(again == obj(R"({"type":"history","room":"lobby","limit":3,"before":7})"));
  CHECK_FALSE(pager.take_reply(again, history_of("lobby", {4, 5, 6})));

  json::object third = request_of("/history 5");
  pager.prepare(third);
  CHECK(third == obj(R"({"type":"history","room":"lobby","limit":5,"before":4})"));
  CHECK_FALSE(pager.take_reply(third, history_of("lobby", {1, 2, 3})));

  json::object fourth = request_of("/history");
  pager.prepare(fourth);
  CHECK(fourth == obj(R"({"type":"history","room":"lobby","limit":20,"before":1})"));
  CHECK(pager.take_reply(fourth, history_of("lobby", {})));  // nothing older
}

TEST_CASE("/history starts from the latest again after a room switch", "[chat-client][history-paging]") {
  HistoryPager pager;
  json::object lobby = request_of("/history 3");
  pager.prepare(lobby);
  CHECK_FALSE(pager.take_reply(lobby, history_of("lobby", {7, 8, 9})));

  const InputContext in_dev{"dev", {"lobby", "dev"}};
  json::object dev = request_of("/history 3", in_dev);
  pager.prepare(dev);  // another room: its latest
  CHECK(dev == obj(R"({"type":"history","room":"dev","limit":3})"));
  CHECK_FALSE(pager.take_reply(dev, history_of("dev", {20, 21})));

  pager.reset();  // switched back to lobby
  json::object back = request_of("/history 3");
  pager.prepare(back);
  CHECK(back == obj(R"({"type":"history","room":"lobby","limit":3})"));
  // A reply to a request made before the switch moves nothing.
  CHECK_FALSE(pager.take_reply(dev, history_of("dev", {18, 19})));
  CHECK_FALSE(pager.take_reply(back, history_of("lobby", {7, 8, 9})));
  json::object next = request_of("/history 3");
  pager.prepare(next);
  CHECK(next == obj(R"({"type":"history","room":"lobby","limit":3,"before":7})"));
}

TEST_CASE("a first /history that finds the room empty is not a page back", "[chat-client][history-paging]") {
  HistoryPager pager;
  json::object request = request_of("/history");
  pager.prepare(request);
  CHECK_FALSE(pager.take_reply(request, history_of("lobby", {})));
  // Sent again after a reconnect to a restarted server: the old cursor goes.
  json::object stale = obj(R"({"type":"history","room":"lobby","limit":20,"before":7})");
  pager.reset();
  pager.prepare(stale);
  CHECK(stale == obj(R"({"type":"history","room":"lobby","limit":20})"));
}
