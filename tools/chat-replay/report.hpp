// The JUnit XML report (--junit FILE), one testcase per scenario file.
#pragma once

#include <string>
#include <vector>

namespace corochat::replay {

struct CaseResult {
  std::string file;
  bool passed = false;
  std::string report;  // the failure report
  double seconds = 0;
};

std::string junit_xml(const std::vector<CaseResult>& results);

}  // namespace corochat::replay
