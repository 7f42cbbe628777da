#include "scenario.hpp"

#include <cctype>
#include <charconv>
#include <sstream>

#include <boost/json/parse.hpp>

#include "cli/duration.hpp"

namespace corochat::replay {
namespace json = boost::json;

std::optional<Millis> parse_duration(std::string_view text) {
  std::string why;
  const auto duration = cli::parse_duration(text, why);
  if (!duration) return std::nullopt;
  return Millis(duration->count());
}

namespace {

// " (needs a unit: 50ms or 50s)": why `text` is not a duration.
std::string duration_problem(std::string_view text) {
  std::string why;
  if (cli::parse_duration(text, why) || text.empty()) return {};
  return " (" + why + ")";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string_view next_word(std::string_view& rest) {
  rest = trim(rest);
  std::size_t end = 0;
  while (end < rest.size() && !std::isspace(static_cast<unsigned char>(rest[end]))) ++end;
  std::string_view word = rest.substr(0, end);
  rest.remove_prefix(end);
  return word;
}

bool is_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

// Where the JSON object that starts `text` ends (one past its '}'), or npos.
std::size_t object_end(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// A JSON object with ${variables} in it: checked with each variable as 0,
// which is valid both inside a string and as a value.
bool valid_object_template(std::string_view text) {
  std::string probe;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "${") == 0) {
      std::size_t close = text.find('}', i);
      if (close == std::string_view::npos) return false;
      probe += '0';
      i = close;
    } else {
      probe += text[i];
    }
  }
  boost::system::error_code ec;
  json::value v = json::parse(probe, ec);
  return !ec && v.is_object();
}

// "..." with \n \r \t \\ \" and \xHH: any bytes, including invalid UTF-8.
std::optional<std::string> parse_byte_string(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return std::nullopt;
  text = text.substr(1, text.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      if (text[i] == '"') return std::nullopt;
      out += text[i];
      continue;
    }
    if (++i >= text.size()) return std::nullopt;
    switch (text[i]) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'x': {
        unsigned value = 0;
        if (i + 2 >= text.size()) return std::nullopt;
        const char* digits = text.data() + i + 1;
        auto [end, ec] = std::from_chars(digits, digits + 2, value, 16);
        if (ec != std::errc{} || end != digits + 2) return std::nullopt;
        out += static_cast<char>(value);
        i += 2;
        break;
      }
      default: return std::nullopt;
    }
  }
  return out;
}

class Parser {
 public:
  Parser(std::string_view text, std::string file) : text_(text) { scenario_.file = std::move(file); }

  std::variant<Scenario, ScenarioError> run() {
    std::vector<std::vector<Step>*> blocks{&scenario_.steps};
    std::vector<int> block_lines;
    int line_number = 0;
    std::istringstream lines{std::string(text_)};
    std::string raw;
    while (std::getline(lines, raw)) {
      ++line_number;
      if (!raw.empty() && raw.back() == '\r') raw.pop_back();
      std::string_view line = trim(raw);
      if (line.empty() || line.front() == '#') continue;
      std::string error;
      std::string_view rest = line;
      const std::string_view first = next_word(rest);

      if (first == "end") {
        if (blocks.size() == 1) return fail(line_number, "'end' without 'repeat'");
        blocks.pop_back();
        block_lines.pop_back();
        continue;
      }
      if (first == "timeout") {
        const std::string_view word = next_word(rest);
        auto d = parse_duration(word);
        if (!d || !trim(rest).empty())
          return fail(line_number, "expected: timeout DURATION (e.g. 2s)" + duration_problem(word));
        scenario_.timeout = *d;
        continue;
      }
      Step step;
      step.line = line_number;
      step.source = std::string(line);
      if (first == "wait" || first == "pause") {
        step.kind = first == "wait" ? Step::Kind::wait : Step::Kind::pause;
        const std::string_view word = next_word(rest);
        auto d = parse_duration(word);
        if (!d || !trim(rest).empty())
          return fail(line_number, "expected: " + std::string(first) + " DURATION" + duration_problem(word));
        step.duration = *d;
      } else if (first == "repeat") {
        int count = 0;
        const std::string_view n = next_word(rest);
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), count);
        if (ec != std::errc{} || end != n.data() + n.size() || count < 0)
          return fail(line_number, "expected: repeat COUNT [VARIABLE]");
        step.kind = Step::Kind::repeat;
        step.count = count;
        step.variable = std::string(next_word(rest));
        if (step.variable.empty()) step.variable = "i";
        if (!is_name(step.variable) || !trim(rest).empty())
          return fail(line_number, "expected: repeat COUNT [VARIABLE]");
        blocks.back()->push_back(std::move(step));
        blocks.push_back(&blocks.back()->back().body);
        block_lines.push_back(line_number);
        continue;
      } else {
        if (!is_name(first)) return fail(line_number, "unknown step '" + std::string(first) + "'");
        step.client = std::string(first);
        const std::string_view verb = next_word(rest);
        if (!client_step(step, verb, trim(rest), error)) return fail(line_number, error);
      }
      blocks.back()->push_back(std::move(step));
    }
    if (blocks.size() > 1) return fail(block_lines.back(), "'repeat' without 'end'");
    return std::move(scenario_);
  }

 private:
  bool client_step(Step& step, std::string_view verb, std::string_view rest, std::string& error) {
    using K = Step::Kind;
    if (verb == "connect" || verb == "close" || verb == "abort") {
      step.kind = verb == "connect" ? K::connect : verb == "close" ? K::close : K::abort;
      if (!rest.empty()) return bad(error, std::string(verb) + " takes nothing after it");
      return true;
    }
    if (verb == "send") {
      step.kind = K::send;
      if (!valid_object_template(rest)) return bad(error, "send needs one JSON object");
      step.payload = std::string(rest);
      return true;
    }
    if (verb == "send-raw") {
      step.kind = K::send_raw;
      auto bytes = parse_byte_string(rest);
      if (!bytes) return bad(error, R"(send-raw needs a quoted string ("...", with \n \r \t \\ \" \xHH))");
      step.payload = std::move(*bytes);
      return true;
    }
    if (verb == "silence") {
      step.kind = K::silence;
      auto d = parse_duration(rest);
      if (!d) return bad(error, "expected: NAME silence DURATION" + duration_problem(rest));
      step.duration = *d;
      return true;
    }
    if (verb == "expect") {
      step.kind = K::expect;
      const std::size_t end = rest.empty() || rest.front() != '{' ? std::string_view::npos : object_end(rest);
      if (end == std::string_view::npos || !valid_object_template(rest.substr(0, end)))
        return bad(error, "expect needs a JSON object");
      step.payload = std::string(rest.substr(0, end));
      return options(step, rest.substr(end), error);
    }
    if (verb == "expect-close") {
      step.kind = K::expect_close;
      return options(step, rest, error);
    }
    return bad(error, "unknown step '" + std::string(verb) + "' (connect, send, send-raw, expect, silence, "
                      "expect-close, close, abort)");
  }

  // [within D] [skip TYPES|*] [capture VAR=PATH ...], in any order.
  bool options(Step& step, std::string_view rest, std::string& error) {
    for (;;) {
      const std::string_view word = next_word(rest);
      if (word.empty()) return true;
      if (word == "within") {
        const std::string_view text = next_word(rest);
        auto d = parse_duration(text);
        if (!d) return bad(error, "within needs a duration" + duration_problem(text));
        step.within = d;
      } else if (word == "skip") {
        std::string_view list = next_word(rest);
        if (list.empty()) return bad(error, "skip needs event types (a,b) or *");
        if (list == "*") {
          step.skip_all = true;
          continue;
        }
        while (!list.empty()) {
          const std::size_t comma = list.find(',');
          step.skip.emplace_back(list.substr(0, comma));
          list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        }
      } else if (word == "absent") {
        if (step.kind != Step::Kind::expect) return bad(error, "only expect can require absent keys");
        std::string_view list = next_word(rest);
        if (list.empty()) return bad(error, "absent needs keys (id,ts)");
        while (!list.empty()) {
          const std::size_t comma = list.find(',');
          step.absent.emplace_back(list.substr(0, comma));
          list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        }
      } else if (word == "capture") {
        if (step.kind != Step::Kind::expect) return bad(error, "only expect can capture");
        bool any = false;
        for (;;) {
          std::string_view probe = rest;
          const std::string_view pair = next_word(probe);
          const std::size_t eq = pair.find('=');
          if (eq == std::string_view::npos) break;
          if (!is_name(pair.substr(0, eq)) || eq + 1 == pair.size())
            return bad(error, "capture takes VARIABLE=PATH (e.g. s=seq)");
          step.captures.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
          rest = probe;
          any = true;
        }
        if (!any) return bad(error, "capture takes VARIABLE=PATH (e.g. s=seq)");
      } else {
        return bad(error, "unexpected '" + std::string(word) + "' (within, skip, absent, capture)");
      }
    }
  }

  static bool bad(std::string& error, std::string message) {
    error = std::move(message);
    return false;
  }
  ScenarioError fail(int line, std::string message) { return {scenario_.file, line, std::move(message)}; }

  std::string_view text_;
  Scenario scenario_;
};

}  // namespace

std::variant<Scenario, ScenarioError> parse_scenario(std::string_view text, std::string file) {
  return Parser(text, std::move(file)).run();
}

}  // namespace corochat::replay
