#include "lib/batch/job_state.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <chrono>
#include <ctime>
#include <fstream>

#include "lib/errors.h"
#include "lib/report/report.h"
#include "lib/util/atomic_file.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mopt::batch {
namespace {

std::string sha256_text(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string utc_now() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

json file_entry(const fs::path& path, const std::string& role) {
  return {{"role", role}, {"path", path.string()}, {"bytes", static_cast<int64_t>(fs::file_size(path))},
          {"sha256", sha256_file(path)}};
}

}  // namespace

JobPaths job_paths(const fs::path& out_dir, const std::string& id) {
  fs::path dir = out_dir / "jobs" / id;
  return {dir, dir / "report.json", dir / "stdout.log", dir / "stderr.log", dir / "done.json"};
}

std::vector<fs::path> job_input_files(const JobSpec& job, const fs::path& base_dir) {
  std::vector<fs::path> files = {job.model};
  auto consider = [&](const json& value) {
    if (!value.is_string() || value.get<std::string>().empty()) return;
    fs::path path = value.get<std::string>();
    if (path.is_relative()) path = base_dir / path;
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) files.push_back(path.lexically_normal());
  };
  for (const auto& item : job.flags.items()) {
    if (item.value().is_array()) {
      for (const auto& element : item.value()) consider(element);
    } else {
      consider(item.value());
    }
  }
  return files;
}

std::string job_key(const JobSpec& job, const fs::path& base_dir) {
  json material = {{"mopt", MOPT_VERSION}, {"args", job.args}, {"inputs", json::array()}};
  for (const auto& file : job_input_files(job, base_dir)) {
    std::error_code ec;
    bool exists = fs::is_regular_file(file, ec);
    material["inputs"].push_back({file.string(), exists ? sha256_file(file) : "missing"});
  }
  return sha256_text(material.dump());
}

json record_done(const JobPaths& paths, const JobSpec& job, const std::string& key, int exit_code, double duration_s) {
  json record = {{"key", key}, {"id", job.id}, {"exit_code", exit_code}, {"finished_at", utc_now()},
                 {"duration_s", duration_s}, {"files", json::array()}};
  std::error_code ec;
  if (!job.output.empty() && fs::is_regular_file(job.output, ec)) record["files"].push_back(file_entry(job.output, "artifact"));
  if (fs::is_regular_file(paths.report, ec)) record["files"].push_back(file_entry(paths.report, "report"));
  write_text_atomically(paths.done, record.dump(2) + "\n");
  return record;
}

json done_record(const JobPaths& paths, const std::string& key) {
  std::ifstream in(paths.done);
  if (!in) return nullptr;
  json record;
  try {
    record = json::parse(in);
  } catch (const json::exception&) {
    return nullptr;  // written atomically, so only a hand-edited record gets here: rerun
  }
  if (record.value("key", "") != key) return nullptr;
  int exit_code = record.value("exit_code", -1);
  if (exit_code != 0 && exit_code != 3) return nullptr;
  if (!record.contains("files") || !record["files"].is_array()) return nullptr;
  for (const auto& file : record["files"]) {
    fs::path path = file.value("path", "");
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return nullptr;
    if (static_cast<int64_t>(fs::file_size(path, ec)) != file.value("bytes", int64_t{-1})) return nullptr;
    if (sha256_file(path) != file.value("sha256", "")) return nullptr;
  }
  return record;
}

void clear_job(const JobPaths& paths) {
  std::error_code ec;
  fs::remove(paths.done, ec);
  fs::remove(paths.report, ec);
}

}  // namespace mopt::batch
