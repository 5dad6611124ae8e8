#include "lib/report/report.h"

#include <fmt/format.h>
#include <google/protobuf/stubs/common.h>
#include <onnx/common/version.h>
#include <openssl/evp.h>
#include <torch/version.h>

#include <ctime>
#include <fstream>

#include "lib/errors.h"
#include "lib/measure/cpu_info.h"
#include "lib/model/graph_stats.h"
#include "lib/runtime/runtime.h"
#include "lib/util/atomic_file.h"

namespace mopt {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string iso_time(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

}  // namespace

std::string sha256_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw runtime_failure(fmt::format("cannot read '{}' to hash it", path.string()));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    EVP_DigestUpdate(ctx, buffer.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

json build_versions() {
  return {{"mopt", MOPT_VERSION},
          {"libtorch", fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH)},
          {"onnx", onnx::LAST_RELEASE_VERSION},
          {"protobuf", google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION)}};
}

json environment_fingerprint() {
  const auto& cpu = cpu_info();
  return {{"cpu_model", cpu.model},
          {"architecture", cpu.architecture},
          {"isa_features", cpu.features},
          {"logical_cores", cpu.logical_cores},
          {"threads", active_threads()},
          {"load_average_1m", load_average_1m()},
          {"quantized_engine", active_engine()},
          {"available_engines", available_engines()},
          {"versions", build_versions()}};
}

json describe_artifact(const fs::path& path, const Model* model) {
  json artifact = {{"path", path.string()}};
  std::error_code ec;
  const bool exists = fs::is_regular_file(path, ec);
  if (exists) {
    artifact["bytes"] = static_cast<int64_t>(fs::file_size(path));
    artifact["sha256"] = sha256_file(path);
  }
  if (exists || model) {
    // The file's own format: an ONNX input is described as ONNX even when mopt ran it imported.
    auto format = exists ? detect_format(path) : model->format();
    artifact["format"] = path.extension() == ".ptl" ? "torchscript-lite" : format_name(format);
  }
  if (model) {
    auto params = parameter_totals(*model);
    artifact["parameters"] = params.count;
    artifact["parameter_bytes"] = params.bytes;
  }
  return artifact;
}

Report::Report(std::string command, std::vector<std::string> argv)
    : started_(std::chrono::system_clock::now()), started_steady_(std::chrono::steady_clock::now()) {
  doc_ = {{"schema_version", kReportSchemaVersion},
          {"tool", {{"name", "mopt"}, {"version", MOPT_VERSION}}},
          {"command", std::move(command)},
          {"argv", std::move(argv)},
          {"started_at", iso_time(started_)},
          {"inputs", json::array()},
          {"outputs", json::array()},
          {"pipeline", nullptr},
          {"passes", json::array()},
          {"metrics", json::object()},
          {"gates", json::array()},
          {"details", json::object()}};
}

void Report::add_input(const fs::path& path, const Model* model) { doc_["inputs"].push_back(describe_artifact(path, model)); }
void Report::add_output(const fs::path& path, const Model* model) { doc_["outputs"].push_back(describe_artifact(path, model)); }

void Report::set_pipeline(const std::string& text, const std::vector<PassRecord>& records) {
  doc_["pipeline"] = text;
  doc_["passes"] = json::array();
  for (const auto& record : records) {
    doc_["passes"].push_back({{"name", record.name},
                              {"invocation", record.invocation},
                              {"seconds", record.seconds},
                              {"rewrites", record.stats.rewrites},
                              {"details", record.stats.details}});
  }
}

void Report::add_gate(const std::string& name, const std::string& expression, bool passed, const json& value,
                      const std::string& detail) {
  doc_["gates"].push_back(
      {{"name", name}, {"expression", expression}, {"passed", passed}, {"value", value}, {"detail", detail}});
}

void Report::set_error(int exit_code, const std::string& message) {
  doc_["error"] = {{"exit_code", exit_code}, {"message", message}};
}

const json& Report::finalize() {
  auto now_steady = std::chrono::steady_clock::now();
  doc_["finished_at"] = iso_time(std::chrono::system_clock::now());
  doc_["duration_s"] = std::chrono::duration<double>(now_steady - started_steady_).count();
  doc_["environment"] = environment_fingerprint();
  doc_["environment"]["foreign_load_cores"] = foreign_load_cores();
  bool failed_gate = false;
  for (const auto& gate : doc_["gates"]) failed_gate = failed_gate || !gate["passed"].get<bool>();
  doc_["verdict"] = doc_.contains("error") ? "error" : (failed_gate ? "fail" : "pass");
  return doc_;
}

void Report::write(const fs::path& path) { write_text_atomically(path, finalize().dump(2) + "\n"); }

}  // namespace mopt
