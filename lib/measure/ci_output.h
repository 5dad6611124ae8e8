#pragma once
// What CI systems read from `mopt bench`: JUnit XML for test-report widgets and a Markdown
// summary for pull-request comments / GitHub step summaries.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "lib/measure/gates.h"

namespace mopt {

/// JUnit XML with one <testcase> per gate (classname "mopt.bench"), a <failure> for each failed one.
std::string gates_junit_xml(const std::vector<GateResult>& gates, const std::string& suite_name);

/// Text escaped for XML attributes and content (&<>"' and control characters XML 1.0 forbids).
std::string xml_escape(const std::string& text);

/// GitHub-flavoured Markdown summary of a bench report: per-row table, accuracy/agreement, gates, verdict.
std::string bench_markdown(const nlohmann::json& report);

}  // namespace mopt
