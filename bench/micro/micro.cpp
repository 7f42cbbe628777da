// Hot-path micro-benchmarks: what chatd does per line it reads (framing,
// parsing) and per message it fans out (serializing, the state machine's
// fan-out step). Run: build/release/bin/chat-micro
#include <cstdint>
#include <string>
#include <variant>

#include <benchmark/benchmark.h>

#include "corochat/protocol/events.hpp"
#include "corochat/protocol/framer.hpp"
#include "corochat/protocol/request.hpp"
#include "server/chat_state.hpp"

namespace {

using namespace corochat;

// 100 bytes of text, the payload size bench/run.sh uses.
const std::string payload_text(100, 'x');

std::string say_line(std::string_view room) {
  return R"({"type":"say","room":")" + std::string(room) + R"(","text":")" + payload_text + "\"}";
}

protocol::Request parse_or_die(std::string_view line) {
  auto parsed = protocol::parse_request(line);
  if (!std::holds_alternative<protocol::Request>(parsed)) std::abort();
  return std::get<protocol::Request>(std::move(parsed));
}

struct CountingSink {
  std::size_t lines = 0;
  std::size_t bytes = 0;
  void on_line(std::string_view line) {
    ++lines;
    bytes += line.size();
  }
  void on_too_long() {}
};

// Framing a 64 KiB read full of say lines, the way a session reads a busy
// publisher: most lines whole inside the chunk, one split at its end.
void BM_FramerChunk(benchmark::State& state) {
  const std::string line = say_line("bench") + "\n";
  std::string stream;
  while (stream.size() < 4 * 65536) stream += line;
  protocol::LineFramer framer(16384);
  CountingSink sink;
  const std::size_t chunk = 65536;
  std::size_t offset = 0;
  for (auto _ : state) {
    if (offset + chunk > stream.size()) offset = 0;
    framer.feed(std::string_view(stream).substr(offset, chunk), sink);
    offset += chunk;
  }
  benchmark::DoNotOptimize(sink.lines);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * chunk));
  state.counters["lines/s"] = benchmark::Counter(static_cast<double>(sink.lines), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FramerChunk);

void BM_ParseSay(benchmark::State& state) {
  const std::string line = say_line("bench");
  for (auto _ : state) {
    auto parsed = protocol::parse_request(line);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseSay);

void BM_SerializeMessage(benchmark::State& state) {
  std::uint64_t seq = 0;
  for (auto _ : state) {
    const auto event = protocol::event::message("bench", "publisher0", payload_text, 1764093600105, ++seq);
    auto line = protocol::serialize_line(event);
    benchmark::DoNotOptimize(line);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SerializeMessage);

// One say into a room of N members, through the state machine: check, seq,
// serialize once, history, and the Delivery naming every recipient.
void BM_FanoutStep(benchmark::State& state) {
  const auto members = static_cast<server::ClientId>(state.range(0));
  server::StateConfig config;
  config.default_room = "";
  config.max_clients = members + 1;
  server::ChatState chat(config, [] { return std::string("token"); });
  const protocol::Timestamp now = 1764093600000;
  const auto join = parse_or_die(R"({"type":"join","room":"bench"})");
  for (server::ClientId id = 1; id <= members; ++id) {
    chat.connect(id);
    const auto hello = parse_or_die(R"({"type":"hello","nick":"n)" + std::to_string(id) + "\"}");
    chat.handle(id, hello, now);
    chat.handle(id, join, now);
  }
  const auto say = parse_or_die(say_line("bench"));
  std::size_t recipients = 0;
  for (auto _ : state) {
    auto effects = chat.handle(1, say, now);
    recipients += effects.deliveries.empty() ? 0 : effects.deliveries.front().to.size();
    benchmark::DoNotOptimize(effects);
  }
  if (recipients != static_cast<std::size_t>(state.iterations()) * members) {
    state.SkipWithError("the fan-out step did not name every member");
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["deliveries/s"] =
      benchmark::Counter(static_cast<double>(recipients), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FanoutStep)->Arg(100)->Arg(500);

}  // namespace

BENCHMARK_MAIN();
