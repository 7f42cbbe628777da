// chat-replay's JUnit report.
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "report.hpp"

using namespace corochat::replay;

TEST_CASE("junit_xml counts tests and failures", "[replay][report]") {
  const std::vector<CaseResult> results = {
      {"a.scn", true, "", 0.25},
      {"b.scn", false, "FAIL b.scn:3: x\n  expected: y\n", 0.5},
      {"c.scn", true, "", 0.25},
  };
  const std::string xml = junit_xml(results);
  CHECK_THAT(xml, Catch::StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
  CHECK_THAT(xml, Catch::Contains("<testsuites tests=\"3\" failures=\"1\" time=\"1\">"));
  CHECK_THAT(xml, Catch::Contains("<testsuite name=\"chat-replay\" tests=\"3\" failures=\"1\" time=\"1\">"));
  CHECK_THAT(xml, Catch::Contains("<testcase classname=\"chat-replay\" name=\"a.scn\" time=\"0.25\"/>"));
  CHECK_THAT(xml, Catch::Contains("<testcase classname=\"chat-replay\" name=\"b.scn\" time=\"0.5\">"));
  CHECK_THAT(xml, Catch::Contains("<failure message=\"FAIL b.scn:3: x\">FAIL b.scn:3: x\n  expected: y\n</failure>"));
  CHECK_THAT(xml, Catch::EndsWith("  </testsuite>\n</testsuites>\n"));
  // One failure element, and every testcase closed.
  std::size_t failures = 0;
  for (std::size_t at = 0; (at = xml.find("<failure", at)) != std::string::npos; ++at) ++failures;
  CHECK(failures == 1);

  const std::string empty = junit_xml({});
  CHECK_THAT(empty, Catch::Contains("<testsuites tests=\"0\" failures=\"0\" time=\"0\">"));
  CHECK(empty.find("<testcase") == std::string::npos);
}

TEST_CASE("junit_xml escapes markup and uses the report's first line as the message", "[replay][report]") {
  const std::vector<CaseResult> results = {
      {"a<b>&\"c\".scn", false,
       "FAIL x.scn:2: a expect {\"text\":\"<b> & co\"}\n  got:      {\"text\":\"a\x01z\"}\n", 0},
  };
  const std::string xml = junit_xml(results);
  CHECK_THAT(xml, Catch::Contains("name=\"a&lt;b&gt;&amp;&quot;c&quot;.scn\""));
  CHECK_THAT(xml, Catch::Contains(
                      "<failure message=\"FAIL x.scn:2: a expect {&quot;text&quot;:&quot;&lt;b&gt; &amp; co&quot;}\">"));
  // The body is the whole report; a control character XML cannot hold becomes '?'.
  CHECK_THAT(xml, Catch::Contains("  got:      {&quot;text&quot;:&quot;a?z&quot;}\n</failure>"));
  CHECK(xml.find('\x01') == std::string::npos);
  CHECK(xml.find("<b>") == std::string::npos);
  CHECK(xml.find(" & ") == std::string::npos);

  // A report of one line without a newline is the message as a whole.
  const std::string one = junit_xml({{"d.scn", false, "FAIL d.scn: boom", 0}});
  CHECK_THAT(one, Catch::Contains("<failure message=\"FAIL d.scn: boom\">FAIL d.scn: boom</failure>"));
}
