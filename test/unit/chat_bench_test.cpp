// chat-bench's pure parts: the payload, the histogram, the per-subscriber
// tracker, each protocol adapter's framing, /proc parsing, options and report.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>

#include <unistd.h>

#include "histogram.hpp"
#include "options.hpp"
#include "payload.hpp"
#include "proc_stats.hpp"
#include "protocols.hpp"
#include "results.hpp"
#include "tracker.hpp"

using namespace corochat::bench;

namespace {

std::string payload_of(std::size_t size, PayloadHeader header) {
  std::string text(size, '\0');
  encode_payload(text.data(), size, header);
  return text;
}

// Records everything a parser reports, in order.
struct Recorder final : Events {
  std::vector<std::string> seen;
  std::vector<std::string> payloads;
  std::vector<std::uint64_t> room_seqs;
  std::string replies;
  void registered() override { seen.push_back("registered"); }
  void joined() override { seen.push_back("joined"); }
  void delivery(std::string_view payload, std::uint64_t room_seq) override {
    seen.push_back("delivery");
    payloads.emplace_back(payload);
    room_seqs.push_back(room_seq);
  }
  void reply(std::string_view bytes) override { replies += bytes; }
  void error(std::string_view what) override { seen.push_back("error " + std::string(what)); }
};

// Feeds `bytes` to the parser in pieces of `step` bytes, as reads would.
void feed_in_pieces(Protocol& protocol, std::string_view bytes, std::size_t step, Events& events) {
  std::string buffer;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    buffer += bytes.substr(at, step);
    buffer.erase(0, protocol.parse(buffer, events));
  }
  CHECK(buffer.empty());
}

}  // namespace

TEST_CASE("chat-bench payload: round trip, exact size, printable and JSON-safe") {
  const PayloadHeader header{513, 123456789, 987654321012345};
  const std::string text = payload_of(100, header);
  REQUIRE(text.size() == 100);
  for (char c : text) {
    CHECK(c > ' ');
    CHECK(c < 127);
    CHECK(c != '"');
    CHECK(c != '\\');
  }
  auto decoded = decode_payload(text, 100);
  REQUIRE(decoded);
  CHECK(*decoded == header);
  // The smallest payload is the header alone.
  auto smallest = decode_payload(payload_of(payload_header_size, header), payload_header_size);
  REQUIRE(smallest);
  CHECK(*smallest == header);
}

TEST_CASE("chat-bench payload: any changed byte, or a wrong size, is corruption") {
  const std::string text = payload_of(120, PayloadHeader{3, 42, 1000});
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = bad[i] == 'x' ? 'y' : 'x';
    INFO("byte " << i);
    CHECK_FALSE(decode_payload(bad, 120));
  }
  CHECK_FALSE(decode_payload(text, 121));
  CHECK_FALSE(decode_payload(text.substr(0, 119), 120));  // a truncated message
  // Two payloads of the same publisher differ in their filler too.
  CHECK(payload_of(120, {3, 42, 1000}).substr(payload_header_size) !=
        payload_of(120, {3, 43, 1000}).substr(payload_header_size));
}

TEST_CASE("chat-bench histogram: percentiles within the bucket precision") {
  Histogram h;
  CHECK(h.percentile(50) == 0);
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v);
  CHECK(h.count() == 100000);
  CHECK(h.max() == 100000);
  auto near = [](std::uint64_t got, double want) { return got >= want && got <= want * (1 + 1.0 / 64) + 1; };
  CHECK(near(h.percentile(50), 50000));
  CHECK(near(h.percentile(99), 99000));
  CHECK(near(h.percentile(99.9), 99900));
  CHECK(h.percentile(100) == 100000);  // never above the true maximum
  // Small values are exact; buckets tile the range without gaps.
  CHECK(Histogram::index_of(127) == 127);
  for (std::uint64_t v : {128ull, 1000ull, 123456789ull, 1ull << 40})
    CHECK(Histogram::highest_in(Histogram::index_of(v)) >= v);
  for (std::size_t i = 1; i < 3000; ++i) {
    CHECK(Histogram::index_of(Histogram::highest_in(i)) == i);
    CHECK(Histogram::index_of(Histogram::highest_in(i - 1) + 1) == i);
  }
}

TEST_CASE("chat-bench tracker: in order, gaps, late arrivals and duplicates") {
  SubscriberTracker t(2);
  CHECK(t.arrived(0, 0) == Arrival::in_order);
  CHECK(t.arrived(1, 0) == Arrival::in_order);  // publishers are counted apart
  CHECK(t.arrived(0, 1) == Arrival::in_order);
  CHECK(t.arrived(0, 4) == Arrival::gap);       // 2 and 3 missing
  CHECK(t.arrived(0, 3) == Arrival::late);
  CHECK(t.arrived(0, 3) == Arrival::duplicate);
  CHECK(t.arrived(0, 1) == Arrival::duplicate);
  CHECK(t.unique() == 5);
  CHECK(t.late() == 1);
  CHECK(t.duplicates() == 2);
}

TEST_CASE("chat-bench corochat adapter: hello, join, say, and message lines scanned without JSON") {
  auto p = make_protocol(ProtocolKind::corochat, "cbs1", "bench", Role::subscriber);
  CHECK(boost::json::parse(p->greeting()) == boost::json::parse(R"({"type":"hello","nick":"cbs1"})"));
  CHECK(boost::json::parse(p->join()) == boost::json::parse(R"({"type":"join","room":"bench"})"));
  CHECK_FALSE(p->join_waits_for_registration());
  std::string say;
  p->append_publish(say, "cb0123");
  CHECK(say.back() == '\n');
  CHECK(boost::json::parse(say) == boost::json::parse(R"({"type":"say","room":"bench","text":"cb0123"})"));

  const std::string input =
      R"({"type":"welcome","nick":"cbs1","protocol":1,"rooms":[]})"
      "\n"
      R"({"type":"joined","room":"bench","nick":"other","ts":1})"
      "\n"
      R"({"type":"joined","room":"bench","nick":"cbs1","ts":1})"
      "\r\n"
      R"({"type":"message","room":"bench","from":"cbp0","text":"cbAAA","ts":5,"seq":17})"
      "\n"
      R"({"seq":18,"type":"message","room":"bench","from":"cbp0","text":"cbBBB","ts":5})"
      "\n"
      R"({"type":"ping"})"
      "\n"
      R"({"type":"error","code":"nick_taken","message":"x"})"
      "\n";
  Recorder r;
  feed_in_pieces(*p, input, 7, r);
  CHECK(r.seen == std::vector<std::string>{"registered", "joined", "delivery", "delivery",
                                           R"(error {"type":"error","code":"nick_taken","message":"x"})"});
  CHECK(r.payloads == std::vector<std::string>{"cbAAA", "cbBBB"});
  CHECK(r.room_seqs == std::vector<std::uint64_t>{17, 18});
  CHECK(r.replies == "{\"type\":\"pong\"}\n");
}

TEST_CASE("chat-bench irc adapter: registers, joins after 001, PRIVMSG in and out, PING answered") {
  auto p = make_protocol(ProtocolKind::irc, "cbs1", "bench", Role::subscriber);
  CHECK(p->greeting() == "NICK cbs1\r\nUSER cbs1 0 * :cbs1\r\n");
  CHECK(p->join_waits_for_registration());
  CHECK(p->join() == "JOIN #bench\r\n");
  std::string out;
  p->append_publish(out, "cbXYZ");
  CHECK(out == "PRIVMSG #bench :cbXYZ\r\n");

  const std::string input =
      ":irc.local NOTICE * :*** Looking up your hostname...\r\n"
      "PING :12345\r\n"
      ":irc.local 001 cbs1 :Welcome\r\n"
      ":irc.local 422 cbs1 :Message of the day file is missing.\r\n"
      ":cbs1!cbs1@localhost JOIN :#bench\r\n"
      ":irc.local 353 cbs1 = #bench :cbs1\r\n"
      ":irc.local 366 cbs1 #other :End of /NAMES list.\r\n"
      ":irc.local 366 cbs1 #bench :End of /NAMES list.\r\n"
      ":cbp0!cbp0@localhost PRIVMSG #bench :cbPAYLOAD\r\n"
      ":irc.local 433 * cbs1 :Nickname is already in use\r\n";
  Recorder r;
  feed_in_pieces(*p, input, 5, r);
  CHECK(r.seen == std::vector<std::string>{"registered", "joined", "delivery",
                                           "error 433 * cbs1 :Nickname is already in use"});
  CHECK(r.payloads == std::vector<std::string>{"cbPAYLOAD"});
  CHECK(r.replies == "PONG :12345\r\n");

  // A publisher given operator credentials lifts ngIRCd's flood throttling
  // before it joins; a subscriber never does.
  auto publisher = make_protocol(ProtocolKind::irc, "cbp0", "bench", Role::publisher, "bench:secret");
  CHECK(publisher->join() == "OPER bench secret\r\nMODE cbp0 +F\r\nJOIN #bench\r\n");
  auto subscriber = make_protocol(ProtocolKind::irc, "cbs0", "bench", Role::subscriber, "bench:secret");
  CHECK(subscriber->join() == "JOIN #bench\r\n");
}

TEST_CASE("chat-bench nats adapter: CONNECT, SUB and PING, MSG with its byte count") {
  auto sub = make_protocol(ProtocolKind::nats, "cbs1", "bench", Role::subscriber);
  CHECK(sub->greeting() == R"(CONNECT {"verbose":false,"pedantic":false,"name":"cbs1"})" "\r\n");
  CHECK(sub->join() == "SUB bench 1\r\nPING\r\n");
  auto pub = make_protocol(ProtocolKind::nats, "cbp0", "bench", Role::publisher);
  CHECK(pub->join() == "PING\r\n");
  std::string out;
  pub->append_publish(out, "cb12345");
  CHECK(out == "PUB bench 7\r\ncb12345\r\n");

  // A payload may hold "\r\n" for NATS: only the byte count frames it.
  const std::string input =
      "INFO {\"server_id\":\"x\"}\r\n"
      "PONG\r\n"
      "MSG bench 1 7\r\ncb12345\r\n"
      "PING\r\n"
      "MSG bench 1 reply.to 4\r\na\r\nb\r\n"
      "-ERR 'Unknown Protocol Operation'\r\n";
  Recorder r;
  feed_in_pieces(*sub, input, 3, r);
  CHECK(r.seen == std::vector<std::string>{"joined", "delivery", "delivery", "error -ERR 'Unknown Protocol Operation'"});
  CHECK(r.payloads == std::vector<std::string>{"cb12345", "a\r\nb"});
  CHECK(r.replies == "PONG\r\n");
}

TEST_CASE("chat-bench redis adapter: SUBSCRIBE and PUBLISH in RESP, message arrays parsed") {
  auto sub = make_protocol(ProtocolKind::redis, "cbs1", "bench", Role::subscriber);
  CHECK(sub->greeting().empty());
  CHECK(sub->join() == "*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n");
  auto pub = make_protocol(ProtocolKind::redis, "cbp0", "bench", Role::publisher);
  CHECK(pub->join() == "*1\r\n$4\r\nPING\r\n");
  std::string out;
  pub->append_publish(out, "cb1");
  CHECK(out == "*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$3\r\ncb1\r\n");

  const std::string input =
      "*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n"
      "*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$6\r\ncb\r\nzz\r\n"
      ":3\r\n"
      "-ERR unknown command\r\n";
  Recorder r;
  feed_in_pieces(*sub, input, 4, r);
  CHECK(r.seen == std::vector<std::string>{"joined", "delivery", "error ERR unknown command"});
  CHECK(r.payloads == std::vector<std::string>{"cb\r\nzz"});

  Recorder publisher_side;
  feed_in_pieces(*pub, "+PONG\r\n:12\r\n", 2, publisher_side);
  CHECK(publisher_side.seen == std::vector<std::string>{"joined"});
}

TEST_CASE("chat-bench lines adapter: every line is a delivery, joining is silent") {
  auto p = make_protocol(ProtocolKind::lines, "cbs1", "bench", Role::subscriber);
  CHECK(p->join_is_silent());
  std::string out;
  p->append_publish(out, "cbQ");
  CHECK(out == "cbQ\n");
  Recorder r;
  feed_in_pieces(*p, "cbA\ncbB\r\n\ncbC\n", 2, r);
  CHECK(r.payloads == std::vector<std::string>{"cbA", "cbB", "cbC"});
}

TEST_CASE("chat-bench /proc parsing: CPU ticks after a command name with spaces, VmRSS") {
  const std::string stat =
      "4242 (chat d) (x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 150 25 0 0 20 0 1 0 100 12345678 900 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
  CHECK(parse_stat_cpu_ticks(stat) == 175u);
  CHECK_FALSE(parse_stat_cpu_ticks("garbage"));
  const std::string status = "Name:\tchatd\nVmPeak:\t  20000 kB\nVmRSS:\t    5120 kB\nRssAnon:\t 3000 kB\n";
  CHECK(parse_status_rss_kb(status) == 5120u);
  CHECK_FALSE(parse_status_rss_kb("Name:\tchatd\n"));
  // This very process can be sampled.
  auto self = sample_process(static_cast<int>(::getpid()));
  REQUIRE(self);
  CHECK(self->rss_kb > 0);
}

TEST_CASE("chat-bench options: the documented command lines, and usage errors") {
  auto fanout = parse_options({"fanout", "--proto", "irc", "--port", "6667", "--subscribers", "100", "--publishers",
                               "4", "--payload", "100", "--window", "64", "--duration", "10s", "--warmup", "1500ms",
                               "--server-pid", "99", "--json"});
  REQUIRE(fanout.options);
  CHECK(fanout.options->mode == Mode::fanout);
  CHECK(fanout.options->protocol == ProtocolKind::irc);
  CHECK(fanout.options->subscribers == 100);
  CHECK(fanout.options->window == 64);
  CHECK(fanout.options->duration == 10.0);
  CHECK(fanout.options->warmup == 1.5);
  CHECK(fanout.options->server_pid == 99);
  CHECK(fanout.options->json);
  CHECK(fanout.options->quickack);  // on by default for irc

  auto idle = parse_options({"idle", "--proto", "corochat", "--host", "::1", "--port", "7000", "--connections",
                             "10000", "--room-size", "100"});
  REQUIRE(idle.options);
  CHECK(idle.options->host == "::1");
  CHECK(idle.options->connections == 10000);
  CHECK_FALSE(idle.options->quickack);

  CHECK(parse_options({"--help"}).error.empty());
  CHECK_FALSE(parse_options({"--help"}).options);
  CHECK(parse_options({"--help"}).output.find("fanout") != std::string::npos);
  CHECK(parse_options({"idle", "--help"}).output.find("--hold DURATION") != std::string::npos);
  CHECK(parse_options({"--version"}).output.starts_with("chat-bench "));
  auto bad = [](std::vector<std::string_view> args) {
    auto parsed = parse_options(args);
    return !parsed.options && !parsed.error.empty();
  };
  CHECK(bad({}));
  CHECK(bad({"flood", "--proto", "corochat", "--port", "1"}));
  CHECK(bad({"fanout", "--proto", "smtp", "--port", "1"}));
  // Exactly one of --window and --rate.
  CHECK(bad({"fanout", "--proto", "corochat", "--port", "1", "--subscribers", "1", "--duration", "1s"}));
  CHECK(bad({"fanout", "--proto", "corochat", "--port", "1", "--subscribers", "1", "--duration", "1s", "--window",
             "1", "--rate", "100"}));
  CHECK(bad({"fanout", "--proto", "corochat", "--port", "1", "--subscribers", "1", "--duration", "1s", "--window",
             "1", "--payload", "10"}));
  CHECK(bad({"idle", "--proto", "corochat", "--port", "1", "--connections", "x"}));
  CHECK(bad({"idle", "--proto", "corochat", "--port", "1", "--connections", "5", "--bogus"}));
}

TEST_CASE("chat-bench options: each bad invocation says what is wrong and exits 2") {
  struct Case {
    std::vector<std::string_view> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{}, "subcommand"},
      {{"flood"}, "unexpected argument 'flood'"},
      {{"idle", "--proto", "corochat", "--port", "1", "--connections", "5", "--bogus"}, "unknown option --bogus"},
      {{"idle", "--proto", "corochat", "--port", "70000", "--connections", "5"}, "--port"},
      {{"idle", "--proto", "corochat", "--port", "0", "--connections", "5"}, "--port"},
      {{"idle", "--proto", "corochat", "--connections", "5"}, "--port is required"},
      {{"idle", "--proto", "smtp", "--port", "1", "--connections", "5"}, "bad value for --proto: 'smtp'"},
      {{"idle", "--proto", "corochat", "--port", "1", "--connections", "5", "--hold", "3"},
       "bad value for --hold: '3' (needs a unit: 3s or 3ms)"},
      {{"fanout", "--proto", "corochat", "--port", "1", "--subscribers", "1", "--window", "1", "--duration", "2"},
       "bad value for --duration: '2' (needs a unit"},
      {{"idle", "--proto", "irc", "--port", "1", "--connections", "5", "--tls"}, "--tls is for --proto corochat"},
      {{"fanout", "--proto", "corochat", "--port", "1", "--subscribers", "1", "--window", "1", "--duration", "1s",
        "--hold", "1s"},
       "unknown option --hold"},
  };
  for (const auto& c : cases) {
    const ParsedOptions parsed = parse_options(c.args);
    INFO(parsed.error);
    CHECK_FALSE(parsed.options);
    CHECK(parsed.status == 2);
    CHECK(parsed.error.find(c.says) != std::string::npos);
    CHECK(parsed.hint.ends_with("--help lists the options)"));
  }
  auto idle = parse_options({"idle", "--proto", "corochat", "--port", "1", "--connections", "5", "--hold", "250ms",
                             "--ca", "ca.pem"});
  REQUIRE(idle.options);
  CHECK(idle.options->hold == 0.25);
  CHECK(idle.options->tls);
}

TEST_CASE("chat-bench report: one JSON object, nulls for what was not measured") {
  Report r;
  r.add("sent", std::uint64_t{12});
  r.add("rate", 1.5);
  r.add("proto", std::string("ir\"c"));
  r.add("server_cpu_s", std::optional<double>{});
  r.warn("busy");
  auto value = boost::json::parse(r.json());
  CHECK(value == boost::json::parse(R"({"sent":12,"rate":1.5,"proto":"ir\"c","server_cpu_s":null,"warnings":["busy"]})"));
  const std::string table = r.table("t");
  CHECK(table.find("sent") != std::string::npos);
  CHECK(table.find("WARNING: busy") != std::string::npos);
}
