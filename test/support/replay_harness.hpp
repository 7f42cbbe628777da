// The shared setup of chat-replay's unit tests: parsing scenario text that
// must parse (or must not), and JSON from a literal.
#pragma once

#include <string_view>
#include <utility>
#include <variant>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>

#include "matcher.hpp"
#include "recording.hpp"
#include "scenario.hpp"

namespace corochat::replay_test {

namespace json = boost::json;
using namespace corochat::replay;
using Kind = Step::Kind;

inline Scenario parse_ok(std::string_view text) {
  auto result = parse_scenario(text, "t.scn");
  if (const auto* error = std::get_if<ScenarioError>(&result)) FAIL("unexpected parse error: " << error->describe());
  return std::get<Scenario>(std::move(result));
}

inline ScenarioError parse_error(std::string_view text) {
  auto result = parse_scenario(text, "t.scn");
  if (std::holds_alternative<Scenario>(result)) FAIL("parsed, but an error was expected:\n" << text);
  return std::get<ScenarioError>(std::move(result));
}

inline Step only_step(std::string_view text) {
  Scenario s = parse_ok(text);
  REQUIRE(s.steps.size() == 1);
  return s.steps.front();
}

inline json::value j(std::string_view text) { return json::parse(text); }

}  // namespace corochat::replay_test
