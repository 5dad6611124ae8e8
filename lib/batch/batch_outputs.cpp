#include "lib/batch/batch_outputs.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "lib/errors.h"
#include "lib/measure/ci_output.h"
#include "lib/report/report.h"
#include "lib/util/progress_line.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mopt::batch {
namespace {

json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  try {
    return json::parse(in);
  } catch (const json::exception&) {
    return nullptr;
  }
}

// metrics[a][b][c] as a number, or null.
json number_at(const json& doc, std::initializer_list<const char*> path) {
  const json* node = &doc;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
  }
  return node->is_number() ? *node : json(nullptr);
}

// Latency p50 and top-1 before/after as each command's report states them.
void add_figures(json& row, const json& report) {
  const json& m = report.contains("metrics") ? report["metrics"] : json::object();
  json latency = {{"before", number_at(m, {"before", "latency", "p50_ms"})}, {"after", number_at(m, {"after", "latency", "p50_ms"})}};
  json accuracy = {{"before", number_at(m, {"before", "accuracy", "top1"})}, {"after", number_at(m, {"after", "accuracy", "top1"})}};
  if (m.contains("rows") && m["rows"].is_array() && !m["rows"].empty()) {  // bench measures one model: "after"
    latency["after"] = number_at(m["rows"][0], {"latency", "p50_ms"});
    accuracy["after"] = number_at(m, {"accuracy", "top1"});
  }
  if (m.contains("student")) {  // distill
    accuracy = {{"before", number_at(m, {"student", "accuracy_before"})}, {"after", number_at(m, {"student", "accuracy_after"})}};
  }
  row["latency_p50_ms"] = latency;
  row["accuracy_top1"] = accuracy;
}

std::string last_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    // CLI11 ends a flag error with a generic hint; the line before it says what was wrong.
    if (line.find_first_not_of(" \t\r") != std::string::npos && line.rfind("Run with --help", 0) != 0) last = line;
  }
  return last.size() > 300 ? last.substr(0, 297) + "..." : last;
}

int severity(const std::string& status) {
  if (status == "interrupted" || status == "not-run") return 4;
  if (status == "failed" || status == "crashed" || status == "timeout") return 3;
  if (status == "invalid-input" || status == "usage-error") return 2;
  if (status == "gate-failed") return 1;
  return 0;
}

std::string cell(const json& value, const char* format_spec) {
  if (!value.is_number()) return "-";
  return fmt::format(fmt::runtime(format_spec), value.get<double>());
}

std::string percent(const json& value) { return value.is_number() ? fmt::format("{:.2f}%", 100 * value.get<double>()) : "-"; }

std::string status_text(const json& row) {
  return row["status"].get<std::string>() + (row.value("cached", false) ? " (cached)" : "");
}

std::string size_text(const json& row) {
  return row["output_bytes"].is_number() ? fmt::format("{:.2f}", row["output_bytes"].get<double>() / 1e6) : "-";
}

}  // namespace

json job_row(const JobSpec& job, const JobResult& result, const JobPaths& paths) {
  json row = {{"position", job.position},
              {"id", job.id},
              {"command", job.command},
              {"model", job.model.string()},
              {"output", job.output.empty() ? json(nullptr) : json(job.output.string())},
              {"args", job.args},
              {"key", result.key},
              {"status", result.status},
              {"exit_code", result.exit_code},
              {"signal", result.signal},
              {"cached", result.cached},
              {"duration_s", result.duration_s},
              {"report", paths.report.string()},
              {"stdout_log", paths.stdout_log.string()},
              {"stderr_log", paths.stderr_log.string()},
              {"output_bytes", nullptr},
              {"output_sha256", nullptr},
              {"gates", json::array()},
              {"message", result.message}};
  std::error_code ec;
  if (!job.output.empty() && (result.status == "ok" || result.status == "gate-failed") && fs::is_regular_file(job.output, ec)) {
    row["output_bytes"] = static_cast<int64_t>(fs::file_size(job.output));
    row["output_sha256"] = sha256_file(job.output);
  }
  json report = result.status == "not-run" ? json(nullptr) : read_json(paths.report);
  if (report.is_object()) {
    add_figures(row, report);
    for (const auto& gate : report.value("gates", json::array())) {
      row["gates"].push_back({{"name", gate.value("name", "")}, {"expression", gate.value("expression", "")},
                              {"passed", gate.value("passed", false)}, {"detail", gate.value("detail", "")}});
    }
  } else {
    row["latency_p50_ms"] = {{"before", nullptr}, {"after", nullptr}};
    row["accuracy_top1"] = {{"before", nullptr}, {"after", nullptr}};
    row["report"] = nullptr;
  }
  if (row["message"].get<std::string>().empty() && result.status != "ok") {
    std::string message;
    if (report.is_object() && report.contains("error")) message = report["error"].value("message", "");
    if (message.empty() && result.status == "gate-failed") {
      std::vector<std::string> failed;
      for (const auto& g : row["gates"]) {
        if (!g["passed"].get<bool>()) failed.push_back(g["name"].get<std::string>());
      }
      if (!failed.empty()) message = fmt::format("gate(s) failed: {}", fmt::join(failed, "; "));
    }
    if (message.empty() && result.status != "not-run") message = last_line(paths.stderr_log);
    if (result.status == "not-run") message = "not started (the batch was interrupted)";
    row["message"] = message;
  }
  return row;
}

int batch_exit_code(const json& rows) {
  int worst = 0;
  for (const auto& row : rows) worst = std::max(worst, severity(row["status"].get<std::string>()));
  constexpr int kCodes[] = {0, 3, 4, 1, 130};
  return kCodes[worst];
}

json status_counts(const json& rows) {
  json counts = {{"total", rows.size()}, {"cached", 0}};
  for (const char* status : {"ok", "gate-failed", "invalid-input", "usage-error", "failed", "crashed", "timeout", "interrupted", "not-run"}) {
    counts[status] = 0;
  }
  for (const auto& row : rows) {
    counts[row["status"].get<std::string>()] = counts.value(row["status"].get<std::string>(), 0) + 1;
    if (row.value("cached", false)) counts["cached"] = counts["cached"].get<int>() + 1;
  }
  return counts;
}

std::string summary_table(const json& rows) {
  size_t width = 3;
  for (const auto& row : rows) width = std::max(width, row["id"].get<std::string>().size());
  width = std::min<size_t>(width, 40);
  std::string out = fmt::format("{:<{}}  {:<22} {:>4} {:>9} {:>11} {:>11} {:>10} {:>10} {:>8}\n", "job", width, "status", "exit",
                                "size MB", "p50 before", "p50 after", "top-1 bef", "top-1 aft", "time s");
  for (const auto& row : rows) {
    out += fmt::format("{:<{}}  {:<22} {:>4} {:>9} {:>11} {:>11} {:>10} {:>10} {:>8.1f}\n", row["id"].get<std::string>(), width,
                       status_text(row), row["exit_code"].get<int>() < 0 ? "-" : std::to_string(row["exit_code"].get<int>()),
                       size_text(row), cell(row["latency_p50_ms"]["before"], "{:.3f}"), cell(row["latency_p50_ms"]["after"], "{:.3f}"),
                       percent(row["accuracy_top1"]["before"]), percent(row["accuracy_top1"]["after"]),
                       row["duration_s"].get<double>());
  }
  return out;
}

std::string batch_junit_xml(const json& rows, const std::string& suite_name) {
  size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  double total_time = 0;
  std::string cases;
  for (const auto& row : rows) {
    const std::string id = row["id"].get<std::string>(), status = row["status"].get<std::string>();
    const std::string message = row.value("message", "");
    const double time = row["duration_s"].get<double>();
    total_time += time;
    ++tests;
    cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\">\n", xml_escape(suite_name), xml_escape(id), time);
    if (status == "gate-failed") {
      ++failures;
      cases += fmt::format("      <failure type=\"gate\" message=\"{}\"/>\n", xml_escape(message));
    } else if (status == "not-run") {
      ++skipped;
      cases += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(message));
    } else if (status != "ok") {
      ++errors;
      cases += fmt::format("      <error type=\"{}\" message=\"{}\">exit {}; log: {}</error>\n", xml_escape(status), xml_escape(message),
                           row["exit_code"].get<int>(), xml_escape(row["stderr_log"].get<std::string>()));
    }
    cases += fmt::format("      <system-out>{}{}</system-out>\n", row.value("cached", false) ? "cached: done earlier with the same key; " : "",
                         xml_escape(fmt::format("report: {}", row["report"].is_string() ? row["report"].get<std::string>() : "none")));
    cases += "    </testcase>\n";
    for (const auto& gate : row["gates"]) {
      ++tests;
      cases += fmt::format("    <testcase classname=\"{}.{}\" name=\"{}\" time=\"0\">\n", xml_escape(suite_name), xml_escape(id),
                           xml_escape(gate["name"].get<std::string>()));
      if (!gate["passed"].get<bool>()) {
        ++failures;
        cases += fmt::format("      <failure type=\"gate\" message=\"{}\">{}</failure>\n", xml_escape(gate["detail"].get<std::string>()),
                             xml_escape(gate["expression"].get<std::string>()));
      }
      cases += "    </testcase>\n";
    }
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"{0}\" tests=\"{1}\" failures=\"{2}\" errors=\"{3}\" skipped=\"{4}\" time=\"{5:.3f}\">\n"
      "  <testsuite name=\"{0}\" tests=\"{1}\" failures=\"{2}\" errors=\"{3}\" skipped=\"{4}\" time=\"{5:.3f}\">\n"
      "{6}"
      "  </testsuite>\n"
      "</testsuites>\n",
      xml_escape(suite_name), tests, failures, errors, skipped, total_time, cases);
}

std::string batch_markdown(const json& rows, int exit_code, const std::string& title) {
  json counts = status_counts(rows);
  std::string out = fmt::format("## {}\n\n**{}** jobs: {} ok ({} cached), {} gate-failed, {} failed or invalid; batch exit **{}** ({})\n\n",
                                title, counts["total"].get<int>(), counts["ok"].get<int>(), counts["cached"].get<int>(),
                                counts["gate-failed"].get<int>(),
                                counts["total"].get<int>() - counts["ok"].get<int>() - counts["gate-failed"].get<int>(), exit_code,
                                exit_code == 0 ? "all good" : exit_code == 3 ? "gates failed" : exit_code == 130 ? "interrupted" : "jobs failed");
  out += "| job | status | exit | size MB | p50 before ms | p50 after ms | top-1 before | top-1 after | time s |\n";
  out += "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& row : rows) {
    out += fmt::format("| `{}` | {} | {} | {} | {} | {} | {} | {} | {:.1f} |\n", row["id"].get<std::string>(),
                       row["status"] == "ok" ? status_text(row) : "**" + status_text(row) + "**",
                       row["exit_code"].get<int>() < 0 ? "-" : std::to_string(row["exit_code"].get<int>()), size_text(row),
                       cell(row["latency_p50_ms"]["before"], "{:.3f}"), cell(row["latency_p50_ms"]["after"], "{:.3f}"),
                       percent(row["accuracy_top1"]["before"]), percent(row["accuracy_top1"]["after"]), row["duration_s"].get<double>());
  }
  std::string problems;
  for (const auto& row : rows) {
    if (row["status"] != "ok") problems += fmt::format("- `{}`: {}\n", row["id"].get<std::string>(), row.value("message", ""));
  }
  if (!problems.empty()) out += "\n### Not ok\n\n" + problems;
  return out;
}

json merge_batch_details(const std::vector<json>& reports, const std::vector<std::string>& names) {
  if (reports.empty()) throw usage_error("merge needs at least one batch report");
  json merged;
  std::map<size_t, json> rows;
  std::set<int> shards_seen;
  int shard_count = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    const json& report = reports[i];
    if (report.value("command", "") != "batch" || !report.contains("details") || !report["details"].contains("batch")) {
      throw invalid_input(fmt::format("'{}' is not a mopt batch report", names[i]));
    }
    const json& batch = report["details"]["batch"];
    if (i == 0) {
      merged = batch;
      shard_count = batch["shard"]["count"].get<int>();
    } else if (batch["manifest_sha256"] != merged["manifest_sha256"]) {
      throw invalid_input(fmt::format("'{}' comes from another manifest (or another version of it) than '{}'", names[i], names[0]));
    } else if (batch["shard"]["count"].get<int>() != shard_count) {
      throw invalid_input(fmt::format("'{}' has {} shards, '{}' has {}", names[i], batch["shard"]["count"].get<int>(), names[0], shard_count));
    }
    int index = batch["shard"]["index"].get<int>();
    if (!shards_seen.insert(index).second) throw invalid_input(fmt::format("shard {}/{} is given twice ('{}')", index, shard_count, names[i]));
    for (const auto& row : batch["jobs"]) rows[row["position"].get<size_t>()] = row;
  }
  std::vector<int> missing;
  for (int s = 0; s < shard_count; ++s) {
    if (!shards_seen.count(s)) missing.push_back(s);
  }
  if (!missing.empty()) {
    throw invalid_input(fmt::format("shard(s) {} of {} missing: pass every shard's batch report", fmt::join(missing, ", "), shard_count));
  }
  merged["jobs"] = json::array();
  for (auto& [position, row] : rows) merged["jobs"].push_back(row);
  merged["merged_from"] = names;
  merged["shard"] = {{"index", 0}, {"count", 1}};
  merged["selected_jobs"] = merged["jobs"].size();
  merged["interrupted"] = false;
  for (const auto& report : reports) merged["interrupted"] = merged["interrupted"].get<bool>() || report["details"]["batch"].value("interrupted", false);
  merged["counts"] = status_counts(merged["jobs"]);
  merged["exit_code"] = batch_exit_code(merged["jobs"]);
  return merged;
}

}  // namespace mopt::batch
