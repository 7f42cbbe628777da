#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <variant>

#include <boost/json.hpp>

#include "corochat/protocol/request.hpp"

namespace json = boost::json;
using namespace corochat::protocol;

namespace {

// Parses a line that must become a Request and returns it.
Request parse_ok(std::string_view line) {
  ParseResult result = parse_request(line);
  INFO("line: " << line);
  REQUIRE(std::holds_alternative<Request>(result));
  return std::get<Request>(std::move(result));
}

// Parses a line that must be refused before becoming a request.
RequestError parse_error(std::string_view line) {
  ParseResult result = parse_request(line);
  INFO("line: " << line);
  REQUIRE(std::holds_alternative<RequestError>(result));
  return std::get<RequestError>(std::move(result));
}

// Parses a line that must become a request of type T and returns its body.
template <class T>
T parse_as(std::string_view line) {
  Request request = parse_ok(line);
  INFO("line: " << line);
  REQUIRE(std::holds_alternative<T>(request.body));
  return std::get<T>(request.body);
}

// A known request whose fields are wrong: parsed, but Malformed.
void check_malformed(std::string_view line) {
  INFO("line: " << line);
  Request request = parse_ok(line);
  const auto* malformed = std::get_if<Malformed>(&request.body);
  REQUIRE(malformed != nullptr);
  CHECK_FALSE(malformed->message.empty());  // the bad_request message says what is wrong
}

}  // namespace

// ---------------------------------------------------------------- request types

TEST_CASE("request: hello with every field", "[request]") {
  auto hello = parse_as<Hello>(R"({"type":"hello","nick":"alice","password":"pw","protocol":1,"resume":"tok"})");
  CHECK(hello.protocol_ok);
  CHECK(hello.nick == std::optional<std::string>("alice"));
  CHECK(hello.password == std::optional<std::string>("pw"));
  CHECK(hello.resume == std::optional<std::string>("tok"));
}

TEST_CASE("request: hello with only a nick", "[request]") {
  auto hello = parse_as<Hello>(R"({"type":"hello","nick":"bob"})");
  CHECK(hello.protocol_ok);
  CHECK(hello.nick == std::optional<std::string>("bob"));
  CHECK_FALSE(hello.password);
  CHECK_FALSE(hello.resume);
}

TEST_CASE("request: hello defers its checks to the state machine", "[request]") {
  SECTION("protocol 2 is parsed, with protocol_ok false") {
    auto hello = parse_as<Hello>(R"({"type":"hello","nick":"bob","protocol":2})");
    CHECK_FALSE(hello.protocol_ok);
    CHECK(hello.nick == std::optional<std::string>("bob"));
  }
  SECTION("protocol \"1\" as a string is not the integer 1") {
    CHECK_FALSE(parse_as<Hello>(R"({"type":"hello","nick":"bob","protocol":"1"})").protocol_ok);
  }
  SECTION("protocol 1.0 as a float is not the integer 1") {
    CHECK_FALSE(parse_as<Hello>(R"({"type":"hello","nick":"bob","protocol":1.0})").protocol_ok);
  }
  SECTION("a missing nick is nullopt, not an error") {
    auto hello = parse_as<Hello>(R"({"type":"hello"})");
    CHECK(hello.protocol_ok);
    CHECK_FALSE(hello.nick);
  }
  SECTION("a non-string nick is nullopt") {
    CHECK_FALSE(parse_as<Hello>(R"({"type":"hello","nick":42})").nick);
  }
  SECTION("a non-string password is nullopt") {
    auto hello = parse_as<Hello>(R"({"type":"hello","nick":"a","password":123})");
    CHECK_FALSE(hello.password);
    CHECK(hello.nick == std::optional<std::string>("a"));
  }
  SECTION("an invalid nick is kept as sent") {
    CHECK(parse_as<Hello>(R"({"type":"hello","nick":"-bad nick"})").nick == std::optional<std::string>("-bad nick"));
  }
}

TEST_CASE("request: nick", "[request]") {
  CHECK(parse_as<ChangeNick>(R"({"type":"nick","nick":"carol"})").nick == "carol");
}

TEST_CASE("request: join and part", "[request]") {
  CHECK(parse_as<Join>(R"({"type":"join","room":"dev"})").room == "dev");
  CHECK(parse_as<Part>(R"({"type":"part","room":"dev"})").room == "dev");
}

TEST_CASE("request: say", "[request]") {
  auto say = parse_as<Say>(R"({"type":"say","room":"lobby","text":"hi \"there\" \u00e9"})");
  CHECK(say.room == "lobby");
  CHECK(say.text == "hi \"there\" \xc3\xa9");
}

TEST_CASE("request: msg", "[request]") {
  auto msg = parse_as<PrivateMessage>(R"({"type":"msg","to":"Bob","text":"psst"})");
  CHECK(msg.to == "Bob");
  CHECK(msg.text == "psst");
}

TEST_CASE("request: who with and without room", "[request]") {
  CHECK(parse_as<Who>(R"({"type":"who","room":"lobby"})").room == std::optional<std::string>("lobby"));
  CHECK_FALSE(parse_as<Who>(R"({"type":"who"})").room);
}

TEST_CASE("request: rooms, ping, pong", "[request]") {
  parse_as<ListRooms>(R"({"type":"rooms"})");
  parse_as<Ping>(R"({"type":"ping"})");
  parse_as<Pong>(R"({"type":"pong"})");
}

TEST_CASE("request: history with and without limit and before", "[request]") {
  auto full = parse_as<History>(R"({"type":"history","room":"lobby","limit":10,"before":42})");
  CHECK(full.room == "lobby");
  CHECK(full.limit == std::optional<std::int64_t>(10));
  CHECK(full.before == std::optional<std::int64_t>(42));

  auto bare = parse_as<History>(R"({"type":"history","room":"lobby"})");
  CHECK_FALSE(bare.limit);
  CHECK_FALSE(bare.before);

  // Values the state machine refuses are still parsed as sent.
  CHECK(parse_as<History>(R"({"type":"history","room":"r","limit":0})").limit == std::optional<std::int64_t>(0));
  CHECK(parse_as<History>(R"({"type":"history","room":"r","limit":-5})").limit == std::optional<std::int64_t>(-5));
  // Beyond int64: as large as int64 can say.
  CHECK(parse_as<History>(R"({"type":"history","room":"r","before":18446744073709551615})").before ==
        std::optional<std::int64_t>(std::numeric_limits<std::int64_t>::max()));
}

TEST_CASE("request: quit with and without reason", "[request]") {
  CHECK(parse_as<Quit>(R"({"type":"quit","reason":"bye all"})").reason == std::optional<std::string>("bye all"));
  CHECK_FALSE(parse_as<Quit>(R"({"type":"quit"})").reason);
}

// ---------------------------------------------------------------- id

TEST_CASE("request: id is kept unchanged in its accepted forms", "[request][id]") {
  SECTION("integer") {
    auto r = parse_ok(R"({"type":"ping","id":7})");
    REQUIRE(r.id);
    CHECK(*r.id == json::value(7));
  }
  SECTION("negative integer") {
    auto r = parse_ok(R"({"type":"ping","id":-3})");
    REQUIRE(r.id);
    CHECK(*r.id == json::value(-3));
  }
  SECTION("integer beyond int64") {
    auto r = parse_ok(R"({"type":"ping","id":18446744073709551615})");
    REQUIRE(r.id);
    REQUIRE(r.id->is_uint64());
    CHECK(r.id->get_uint64() == std::numeric_limits<std::uint64_t>::max());
  }
  SECTION("string") {
    auto r = parse_ok(R"({"type":"ping","id":"abc"})");
    REQUIRE(r.id);
    CHECK(*r.id == json::value("abc"));
  }
  SECTION("empty string") {
    auto r = parse_ok(R"({"type":"ping","id":""})");
    REQUIRE(r.id);
    CHECK(*r.id == json::value(""));
  }
  SECTION("string of exactly 64 bytes") {
    const std::string id(64, 'i');
    auto r = parse_ok(R"({"type":"ping","id":")" + id + R"("})");
    REQUIRE(r.id);
    CHECK(*r.id == json::value(id));
  }
  SECTION("no id") {
    CHECK_FALSE(parse_ok(R"({"type":"ping"})").id);
  }
}

TEST_CASE("request: an id of another form is bad_request without an id", "[request][id]") {
  const std::string too_long = R"({"type":"ping","id":")" + std::string(65, 'i') + R"("})";
  const char* lines[] = {
      R"({"type":"ping","id":1.5})",
      R"({"type":"ping","id":[1]})",
      R"({"type":"ping","id":{"a":1}})",
      R"({"type":"ping","id":true})",
      R"({"type":"ping","id":null})",
  };
  {
    auto err = parse_error(too_long);
    CHECK(err.code == ErrorCode::bad_request);
    CHECK_FALSE(err.id);
  }
  for (const char* line : lines) {
    INFO(line);
    auto err = parse_error(line);
    CHECK(err.code == ErrorCode::bad_request);
    CHECK_FALSE(err.id);
  }
}

TEST_CASE("request: a 64-byte id counts bytes, not characters", "[request][id]") {
  // 32 two-byte characters: 64 bytes, accepted; 33: 66 bytes, refused.
  std::string ok, bad;
  for (int i = 0; i < 32; ++i) ok += "\xc3\xa9";
  bad = ok + "\xc3\xa9";
  CHECK(parse_ok(R"({"type":"ping","id":")" + ok + R"("})").id == RequestId(json::value(ok)));
  CHECK(parse_error(R"({"type":"ping","id":")" + bad + R"("})").code == ErrorCode::bad_request);
}

// ---------------------------------------------------------------- errors

TEST_CASE("request: not JSON is bad_json", "[request][errors]") {
  for (const char* line : {"hello", "{", R"({"type":"ping",})", "{'type':'ping'}", ""}) {
    INFO(line);
    auto err = parse_error(line);
    CHECK(err.code == ErrorCode::bad_json);
    CHECK_FALSE(err.id);
  }
}

TEST_CASE("request: two objects or trailing bytes on one line are bad_json", "[request][errors]") {
  for (const char* line : {R"({"type":"ping"}{"type":"ping"})", R"({"type":"ping"} x)", R"({"type":"ping"},)"}) {
    INFO(line);
    CHECK(parse_error(line).code == ErrorCode::bad_json);
  }
}

TEST_CASE("request: JSON that is not an object is bad_json", "[request][errors]") {
  for (const char* line : {"[1,2]", R"("ping")", "42", "null", "true", R"([{"type":"ping","id":1}])"}) {
    INFO(line);
    auto err = parse_error(line);
    CHECK(err.code == ErrorCode::bad_json);
    CHECK_FALSE(err.id);
  }
}

TEST_CASE("request: invalid UTF-8 is bad_json", "[request][errors]") {
  SECTION("a lone 0xff byte inside a string") {
    CHECK(parse_error("{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"\xff\",\"id\":1}").code == ErrorCode::bad_json);
  }
  SECTION("a truncated multi-byte sequence") {
    CHECK(parse_error("{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"a\xc3\"}").code == ErrorCode::bad_json);
  }
  SECTION("an overlong encoding") {
    CHECK(parse_error("{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"\xc0\xaf\"}").code == ErrorCode::bad_json);
  }
  SECTION("inside a key") {
    CHECK(parse_error("{\"type\":\"ping\",\"\xfe\":1}").code == ErrorCode::bad_json);
  }
}

TEST_CASE("request: missing or non-string type is bad_request, keeping a valid id", "[request][errors]") {
  SECTION("missing, with id") {
    auto err = parse_error(R"({"id":5,"room":"x"})");
    CHECK(err.code == ErrorCode::bad_request);
    CHECK(err.id == RequestId(json::value(5)));
  }
  SECTION("non-string, with string id") {
    auto err = parse_error(R"({"type":3,"id":"q"})");
    CHECK(err.code == ErrorCode::bad_request);
    CHECK(err.id == RequestId(json::value("q")));
  }
  SECTION("null type, without id") {
    auto err = parse_error(R"({"type":null})");
    CHECK(err.code == ErrorCode::bad_request);
    CHECK_FALSE(err.id);
  }
  SECTION("missing type with an invalid id: still bad_request, no id") {
    auto err = parse_error(R"({"id":1.5})");
    CHECK(err.code == ErrorCode::bad_request);
    CHECK_FALSE(err.id);
  }
}

TEST_CASE("request: unknown type is unknown_type with the id", "[request][errors]") {
  auto err = parse_error(R"({"type":"dance","id":"d1"})");
  CHECK(err.code == ErrorCode::unknown_type);
  CHECK(err.id == RequestId(json::value("d1")));

  SECTION("types are case-sensitive") {
    CHECK(parse_error(R"({"type":"PING"})").code == ErrorCode::unknown_type);
  }
  SECTION("without id") {
    CHECK_FALSE(parse_error(R"({"type":"kick"})").id);
  }
}

TEST_CASE("request: a known type with a missing or mistyped field is Malformed", "[request][errors]") {
  check_malformed(R"({"type":"nick"})");
  check_malformed(R"({"type":"nick","nick":7})");
  check_malformed(R"({"type":"join"})");
  check_malformed(R"({"type":"join","room":["a"]})");
  check_malformed(R"({"type":"part"})");
  check_malformed(R"({"type":"part","room":null})");
  check_malformed(R"({"type":"say","text":"hi"})");
  check_malformed(R"({"type":"say","room":"lobby"})");
  check_malformed(R"({"type":"say","room":"lobby","text":5})");
  check_malformed(R"({"type":"msg","text":"hi"})");
  check_malformed(R"({"type":"msg","to":"bob"})");
  check_malformed(R"({"type":"msg","to":1,"text":"hi"})");
  check_malformed(R"({"type":"who","room":1})");
  check_malformed(R"({"type":"history"})");
  check_malformed(R"({"type":"history","room":"r","limit":"10"})");
  check_malformed(R"({"type":"history","room":"r","limit":1.5})");
  check_malformed(R"({"type":"history","room":"r","before":"9"})");
}

TEST_CASE("request: a Malformed request keeps its id", "[request][errors]") {
  auto r = parse_ok(R"({"type":"join","id":9})");
  CHECK(std::holds_alternative<Malformed>(r.body));
  CHECK(r.id == RequestId(json::value(9)));
}

TEST_CASE("request: unknown fields are ignored", "[request]") {
  auto say = parse_as<Say>(R"({"type":"say","room":"r","text":"t","future":{"x":[1,2]},"color":"red"})");
  CHECK(say.room == "r");
  CHECK(say.text == "t");
  parse_as<Ping>(R"({"type":"ping","extra":null})");
}

TEST_CASE("request: field order does not matter", "[request]") {
  auto r = parse_ok(R"({"id":"x","text":"t","room":"r","type":"say"})");
  REQUIRE(std::holds_alternative<Say>(r.body));
  CHECK(std::get<Say>(r.body).text == "t");
  CHECK(r.id == RequestId(json::value("x")));
}

TEST_CASE("request: allowed_unregistered is hello, ping, pong and quit only", "[request]") {
  CHECK(allowed_unregistered(Hello{}));
  CHECK(allowed_unregistered(Ping{}));
  CHECK(allowed_unregistered(Pong{}));
  CHECK(allowed_unregistered(Quit{}));

  CHECK_FALSE(allowed_unregistered(ChangeNick{}));
  CHECK_FALSE(allowed_unregistered(Join{}));
  CHECK_FALSE(allowed_unregistered(Part{}));
  CHECK_FALSE(allowed_unregistered(Say{}));
  CHECK_FALSE(allowed_unregistered(PrivateMessage{}));
  CHECK_FALSE(allowed_unregistered(Who{}));
  CHECK_FALSE(allowed_unregistered(ListRooms{}));
  CHECK_FALSE(allowed_unregistered(History{}));
  CHECK_FALSE(allowed_unregistered(Malformed{}));
}

TEST_CASE("request: say and msg may carry a boolean action", "[request]") {
  CHECK(parse_as<Say>(R"({"type":"say","room":"r","text":"waves","action":true})").action);
  CHECK_FALSE(parse_as<Say>(R"({"type":"say","room":"r","text":"waves","action":false})").action);
  CHECK_FALSE(parse_as<Say>(R"({"type":"say","room":"r","text":"waves"})").action);
  CHECK(parse_as<PrivateMessage>(R"({"type":"msg","to":"b","text":"nods","action":true})").action);
  CHECK_FALSE(parse_as<PrivateMessage>(R"({"type":"msg","to":"b","text":"nods"})").action);
  // Anything but a boolean is a mistake the sender should hear about.
  for (const char* bad : {R"("yes")", "1", "0", "null", "[]", "{}"}) {
    check_malformed(std::string(R"({"type":"say","room":"r","text":"t","action":)") + bad + "}");
    check_malformed(std::string(R"({"type":"msg","to":"b","text":"t","action":)") + bad + "}");
  }
}
