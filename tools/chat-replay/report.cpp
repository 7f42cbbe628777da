#include "report.hpp"

#include <sstream>

namespace corochat::replay {
namespace {
std::string escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        // XML 1.0 has no place for other control characters.
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') out += '?';
        else out += static_cast<char>(c);
    }
  }
  return out;
}
}  // namespace

std::string junit_xml(const std::vector<CaseResult>& results) {
  std::size_t failures = 0;
  double total = 0;
  for (const auto& r : results) {
    failures += r.passed ? 0 : 1;
    total += r.seconds;
  }
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites tests=\"" << results.size() << "\" failures=\"" << failures << "\" time=\"" << total << "\">\n";
  out << "  <testsuite name=\"chat-replay\" tests=\"" << results.size() << "\" failures=\"" << failures
      << "\" time=\"" << total << "\">\n";
  for (const auto& r : results) {
    out << "    <testcase classname=\"chat-replay\" name=\"" << escape(r.file) << "\" time=\"" << r.seconds << "\"";
    if (r.passed) {
      out << "/>\n";
      continue;
    }
    const std::string first_line = r.report.substr(0, r.report.find('\n'));
    out << ">\n      <failure message=\"" << escape(first_line) << "\">" << escape(r.report) << "</failure>\n";
    out << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace corochat::replay
