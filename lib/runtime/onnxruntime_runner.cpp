#include "lib/runtime/onnxruntime_runner.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/measure/cpu_info.h"
#include "lib/util/log.h"
#include "lib/util/scratch_dir.h"

namespace mopt {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* stop_kind(StopRule::Kind kind) {
  switch (kind) {
    case StopRule::Kind::kIterations: return "iterations";
    case StopRule::Kind::kMinTime: return "min-time";
    case StopRule::Kind::kTargetCv: return "target-cv";
  }
  return "iterations";
}

std::string install_hint() {
  return fmt::format("install it with: cd {} && npm install --ignore-scripts (Node.js from Debian's nodejs package), "
                     "or measure with --runtime libtorch",
                     onnxruntime_dir().string());
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The helper's figures for one row (lib/runtime/ort/ort_bench.js: timedLoop, soakLoop).
CpuUsage cpu_of(const json& row) {
  CpuUsage cpu;
  cpu.user_s = row["cpu"]["user_s"].get<double>();
  cpu.system_s = row["cpu"]["system_s"].get<double>();
  cpu.wall_s = row["cpu"]["wall_s"].get<double>();
  cpu.logical_cores = std::max(1, cpu_info().logical_cores);
  return cpu;
}

RssTimeline rss_of(const json& row) {
  RssTimeline rss;
  rss.samples = row["rss"]["samples"].get<std::vector<std::pair<double, double>>>();
  rss.first_inference_mb = row["rss"]["first_inference_mb"].get<double>();
  return rss;
}

SoakRun soak_of(const json& row, const TimedRun& run, const SoakSettings& settings) {
  SoakRun soak;
  soak.run = run;
  soak.settings = settings;
  soak.late_starts = row["soak"]["late_starts"].get<int64_t>();
  soak.windows = soak_windows(settings);
  const auto& windows = row["soak"]["windows"];
  for (size_t w = 0; w < soak.windows.size() && w < windows.size(); ++w) {
    soak.windows[w].begin = windows[w]["begin"].get<size_t>();
    soak.windows[w].end = windows[w]["end"].get<size_t>();
    soak.windows[w].rss_end_mb = windows[w]["rss_end_mb"].get<double>();
  }
  return soak;
}

// Random inputs reach branches and shapes a real input never would (Silero VAD's int64 sample
// rate picks its 8 kHz branch), so a failure on synthetic data asks for real data first.
std::string failed_on_inputs(const std::string& description, const std::string& reason) {
  const bool synthetic = description.rfind("synthetic", 0) == 0;
  return fmt::format("ONNX Runtime could not run the model on {}: {}{}",
                     description.empty() ? "these inputs" : description, reason,
                     synthetic ? ". Synthetic inputs hold random values; a model whose shapes or control flow depend "
                                 "on its input values needs real ones: give --data (a folder of input_0.npy, "
                                 "input_1.npy, ... one per input)"
                               : "");
}

}  // namespace

fs::path onnxruntime_dir() {
  if (const char* env = std::getenv("MOPT_ORT_DIR"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = (exe.parent_path() / ".." / "share" / "mopt" / "ort").lexically_normal();
    if (fs::exists(installed / "ort_bench.js")) return installed;
  }
  return fs::path(MOPT_SOURCE_DIR) / "lib" / "runtime" / "ort";
}

std::string node_executable() {
  const char* node = std::getenv("MOPT_NODE");
  return node && *node ? node : "node";
}

OrtResult run_onnxruntime(const OrtRequest& request) {
  const auto dir = onnxruntime_dir();
  const std::string node = node_executable();
  ScratchDir scratch("mopt-ort");
  json rows = json::array();
  for (size_t i = 0; i < request.rows.size(); ++i) {
    json files = json::array();
    for (size_t k = 0; k < request.rows[i].inputs.size(); ++k) {
      auto file = scratch.path() / fmt::format("row{}_input{}.npy", i, k);
      write_npy(request.rows[i].inputs[k], file);
      files.push_back(file.string());
    }
    rows.push_back({{"threads", request.rows[i].threads}, {"inputs", files}});
  }
  const auto result_file = scratch.path() / "result.json";
  json body = {{"model", fs::absolute(request.model).string()},
               {"result", result_file.string()},
               {"warmup", request.warmup},
               {"stop",
                {{"kind", stop_kind(request.stop.kind)},
                 {"iterations", request.stop.iterations},
                 {"min_time_s", request.stop.min_time_s},
                 {"target_cv", request.stop.target_cv},
                 {"max_time_s", request.stop.max_time_s},
                 {"min_iterations", request.stop.min_iterations}}},
               {"rows", rows}};
  if (request.soak) {
    json spans = json::array();
    for (const auto& w : soak_windows(*request.soak)) spans.push_back({w.start_s, w.end_s});
    body["soak"] = {{"duration_s", request.soak->duration_s}, {"rate_per_s", request.soak->rate_per_s}, {"windows", spans}};
  }
  if (!request.optimized_model.empty()) body["optimized_model"] = fs::absolute(request.optimized_model).string();
  if (request.profile_iterations > 0) {
    body["profile"] = {{"iterations", request.profile_iterations}, {"prefix", (scratch.path() / "ort_profile").string()}};
  }
  const auto eval_output = scratch.path() / "outputs.npy";
  if (!request.eval_inputs.empty()) {
    json files = json::array();
    for (size_t k = 0; k < request.eval_inputs.size(); ++k) {
      auto file = scratch.path() / fmt::format("eval_input{}.npy", k);
      write_npy(request.eval_inputs[k], file);
      files.push_back(file.string());
    }
    body["eval"] = {{"threads", request.eval_threads}, {"inputs", files}, {"batch", request.eval_batch},
                    {"output", eval_output.string()}};
  }
  const auto request_file = scratch.path() / "request.json";
  std::ofstream(request_file) << body.dump();

  const auto errors_file = scratch.path() / "stderr.txt";
  auto command = fmt::format("{} {} {} </dev/null >/dev/null 2>{}", shell_quote(node),
                             shell_quote((dir / "ort_bench.js").string()), shell_quote(request_file.string()),
                             shell_quote(errors_file.string()));
  log_verbose("onnxruntime: {}", command);
  const int status = std::system(command.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::string errors;
  {
    std::ifstream in(errors_file);
    errors.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) errors.pop_back();
  }
  if (code == 127) throw invalid_input(fmt::format("ONNX Runtime needs Node.js ('{}' was not found); {}", node, install_hint()));
  if (code == 3) throw invalid_input(fmt::format("ONNX Runtime is not installed ({}); {}", errors, install_hint()));
  if (code == 4) throw invalid_input(fmt::format("ONNX Runtime: {}", errors));
  if (code == 5) throw invalid_input(failed_on_inputs(request.data_description, errors));
  if (code != 0) throw runtime_failure(fmt::format("the ONNX Runtime helper failed (exit {}): {}", code, errors));

  OrtResult result;
  json reply;
  try {
    std::ifstream in(result_file);
    reply = json::parse(in);
  } catch (const std::exception& e) {
    throw runtime_failure(fmt::format("the ONNX Runtime helper answered something unreadable: {}", e.what()));
  }
  result.version = reply.value("version", "");
  result.cold_start = reply.value("cold_start", json());
  result.session = reply.value("session", json());
  for (const auto& row : reply["rows"]) {
    TimedRun run;
    run.samples_ms = row["samples_ms"].get<std::vector<double>>();
    run.stopped_by = row["stopped_by"].get<std::string>();
    run.elapsed_s = row["elapsed_s"].get<double>();
    if (request.soak) result.soaks.push_back(soak_of(row, run, *request.soak));
    result.rows.push_back(std::move(run));
    result.memory_mb.emplace_back(row["peak_mb"].get<double>(), row["increase_mb"].get<double>());
    result.cpu.push_back(cpu_of(row));
    result.rss.push_back(rss_of(row));
    result.page_faults_per_call.push_back(row.value("page_faults_per_call", 0.0));
  }
  if (!request.eval_inputs.empty()) result.eval_outputs = read_npy(eval_output);
  if (reply.contains("profile") && !reply["profile"].is_null()) {
    const auto& p = reply["profile"];
    OrtProfile profile;
    profile.warmup_runs = p["warmup_runs"].get<int64_t>();
    profile.iteration_ms = p["iteration_ms"].get<std::vector<double>>();
    try {
      std::ifstream in(p["file"].get<std::string>());
      profile.trace = json::parse(in);
    } catch (const std::exception& e) {
      throw runtime_failure(fmt::format("ONNX Runtime's profile could not be read: {}", e.what()));
    }
    result.profile = std::move(profile);
  }
  return result;
}

}  // namespace mopt
