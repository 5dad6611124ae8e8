#include "lib/measure/ci_output.h"

#include <fmt/format.h>

#include <cmath>

namespace mopt {
using nlohmann::json;

namespace {

// A Markdown table cell must not contain a raw '|' or a line break.
std::string md_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string number_at(const json& object, const std::string& path, const char* format) {
  const json* value = find_number(object, path);
  return value ? fmt::format(fmt::runtime(format), value->get<double>()) : "-";
}

std::string ci_text(const json& row) {
  const json* latency = row.contains("latency") ? &row["latency"] : nullptr;
  if (!latency || !latency->contains("p50_ci95_ms")) return "-";
  const json& ci = (*latency)["p50_ci95_ms"];
  if (!ci.is_array() || ci.size() != 2 || !ci[0].is_number() || !ci[1].is_number()) return "-";
  return fmt::format("{:.3f}–{:.3f}", ci[0].get<double>(), ci[1].get<double>());
}

std::string percent(const json& object, const std::string& key) {
  return object.contains(key) && object[key].is_number() ? fmt::format("{:.2f}%", 100 * object[key].get<double>())
                                                         : "-";
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\n': out += "&#10;"; break;  // keeps line breaks inside attributes
      case '\t': out += "&#9;"; break;
      case '\r': out += "&#13;"; break;
      default:
        // XML 1.0 has no way to write other C0 controls; a parser would reject the whole file.
        if (static_cast<unsigned char>(c) < 0x20) {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string gates_junit_xml(const std::vector<GateResult>& gates, const std::string& suite_name) {
  size_t failures = 0;
  for (const auto& gate : gates) failures += gate.passed ? 0 : 1;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"{0}\" tests=\"{1}\" failures=\"{2}\" errors=\"0\">\n",
                     xml_escape(suite_name), gates.size(), failures);
  out += fmt::format("  <testsuite name=\"{0}\" tests=\"{1}\" failures=\"{2}\" errors=\"0\" skipped=\"0\">\n",
                     xml_escape(suite_name), gates.size(), failures);
  for (const auto& gate : gates) {
    out += fmt::format("    <testcase name=\"{}\" classname=\"mopt.bench\"", xml_escape(gate.name));
    if (gate.passed) {
      out += gate.detail.empty() ? "/>\n"
                                 : fmt::format(">\n      <system-out>{}</system-out>\n    </testcase>\n",
                                               xml_escape(gate.detail));
    } else {
      const std::string message = gate.expression.empty() ? gate.name : gate.expression;
      out += fmt::format(">\n      <failure message=\"{}\" type=\"gate\">{}</failure>\n    </testcase>\n",
                         xml_escape(message), xml_escape(gate.detail));
    }
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

std::string bench_markdown(const json& report) {
  const json& metrics = report.contains("metrics") && report["metrics"].is_object() ? report["metrics"] : report;
  std::string out;
  std::string model;
  if (report.contains("inputs") && report["inputs"].is_array() && !report["inputs"].empty()) {
    model = report["inputs"][0].value("path", "");
  }
  out += model.empty() ? "### mopt bench\n\n" : fmt::format("### mopt bench: `{}`\n\n", model);

  if (metrics.contains("rows") && metrics["rows"].is_array() && !metrics["rows"].empty()) {
    out += "| batch | threads | p50 ms | p95 ms | p50 95% CI ms | throughput /s | peak MB |\n";
    out += "|---:|---:|---:|---:|:---:|---:|---:|\n";
    const auto& rows = metrics["rows"];
    for (size_t i = 0; i < rows.size(); ++i) {
      const json& row = rows[i];
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", row.contains("batch") ? row["batch"].dump() : "-",
                         row.contains("threads") ? row["threads"].dump() : "-",
                         number_at(row, "latency.p50_ms", "{:.3f}"), number_at(row, "latency.p95_ms", "{:.3f}"),
                         ci_text(row), number_at(row, "throughput.samples_per_s", "{:.1f}"),
                         number_at(row, "memory.peak_mb", "{:.1f}"));
    }
    out += "\n";
  }
  if (metrics.contains("accuracy") && metrics["accuracy"].is_object()) {
    const json& acc = metrics["accuracy"];
    out += fmt::format("**Accuracy**: top-1 {}, top-5 {}", percent(acc, "top1"), percent(acc, "top5"));
    out += acc.contains("samples") ? fmt::format(" on {} samples\n\n", acc["samples"].dump()) : "\n\n";
  }
  if (metrics.contains("agreement") && metrics["agreement"].is_object()) {
    const json& agr = metrics["agreement"];
    out += fmt::format("**Agreement with reference**: top-1 {}, cosine {}, max abs diff {}, SQNR {} dB\n\n",
                       percent(agr, "top1_agreement"), number_at(agr, "cosine", "{:.6f}"),
                       number_at(agr, "max_abs_diff", "{:.3g}"), number_at(agr, "sqnr_db", "{:.1f}"));
  }
  if (report.contains("gates") && report["gates"].is_array() && !report["gates"].empty()) {
    out += "| | gate | value | detail |\n|:---:|---|---:|---|\n";
    for (const auto& gate : report["gates"]) {
      const bool passed = gate.value("passed", false);
      const json& value = gate.contains("value") ? gate["value"] : json(nullptr);
      std::string value_text = value.is_number() ? format_number(value.get<double>()) : value.is_null() ? "-" : value.dump();
      out += fmt::format("| {} | {} | {} | {} |\n", passed ? "✅" : "❌", md_cell(gate.value("name", "")),
                         md_cell(value_text), md_cell(gate.value("detail", "")));
    }
    out += "\n";
  }
  if (report.contains("verdict") && report["verdict"].is_string()) {
    const std::string verdict = report["verdict"].get<std::string>();
    const char* mark = verdict == "pass" ? "✅" : "❌";
    out += fmt::format("**Verdict**: {} {}\n", mark, verdict);
  }
  return out;
}

}  // namespace mopt
