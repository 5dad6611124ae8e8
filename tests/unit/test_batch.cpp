// mopt batch: manifest validation errors (field and line), defaults and templates, glob expansion,
// shard assignment and environment, job keys and done records, exit-code order, merge checks.
#include <algorithm>
#include <fstream>
#include <map>

#include "lib/batch/batch_outputs.h"
#include "lib/batch/job_state.h"
#include "lib/batch/manifest.h"
#include "lib/batch/shard.h"
#include "tests/unit/report_schema_check.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using namespace mopt::batch;
using mopt::test::contains;
using mopt::test::thrown_code;
using mopt::test::thrown_message;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> errors_of(const std::string& text) { return validate_manifest_text(text); }

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

json row(const std::string& id, const std::string& status, int exit_code, size_t position = 0) {
  return {{"position", position}, {"id", id}, {"status", status}, {"exit_code", exit_code}, {"cached", false}, {"duration_s", 1.0},
          {"gates", json::array()}, {"message", ""}, {"output_bytes", nullptr}, {"report", nullptr}, {"stderr_log", "e.log"},
          {"latency_p50_ms", {{"before", nullptr}, {"after", nullptr}}}, {"accuracy_top1", {{"before", nullptr}, {"after", nullptr}}}};
}

}  // namespace

TEST_SUITE("batch") {
  TEST_CASE("a valid manifest has no errors") {
    CHECK(errors_of(R"({"defaults": {"command": "quantize", "output": "{stem}.q.pt"}, "jobs": [{"model": "a.pt"}]})").empty());
    CHECK(errors_of(R"({"jobs": [{"model": "a.pt", "command": "bench", "flags": {"iterations": 5, "fail-if": ["x > 1"]}}]})").empty());
  }

  TEST_CASE("schema errors name the field and its line") {
    const std::string text =
        "{\n"                                    // 1
        "  \"jobs\": [\n"                        // 2
        "    {\"model\": \"a.pt\",\n"            // 3
        "     \"command\": \"shrink\",\n"        // 4
        "     \"output\": \"x.pt\"}\n"           // 5
        "  ]\n"                                  // 6
        "}\n";
    auto errors = errors_of(text);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "jobs[0].command: must be one of quantize, prune, compile, optimize, bench, distill, not \"shrink\" (line 4)");

    auto unknown = errors_of("{\"jobs\": [{\"model\": \"a.pt\",\n \"colour\": 1}]}");
    REQUIRE(unknown.size() == 1);
    CHECK(contains(unknown[0], "jobs[0].colour: unknown field; known fields here: "));
    CHECK(contains(unknown[0], "model"));
    CHECK(contains(unknown[0], "(line 2)"));

    auto flag_type = errors_of("{\"jobs\": [{\"model\": \"a.pt\", \"command\": \"bench\",\n \"flags\": {\"iterations\": {\"n\": 1}}}]}");
    REQUIRE(flag_type.size() == 1);
    CHECK(contains(flag_type[0], "jobs[0].flags.iterations: must be string or number or boolean or array or null"));
    CHECK(contains(flag_type[0], "(line 2)"));

    CHECK(errors_of(R"({"jobs": []})").size() == 1);
    CHECK(errors_of("{\"jobs\": [}").at(0).rfind("(manifest): not valid JSON", 0) == 0);
    CHECK(contains(errors_of(R"({"jobs": [{"model": "a.pt", "timeout_s": 0}]})").at(0), "jobs[0].timeout_s: must be > 0"));
  }

  TEST_CASE("what the schema cannot say: missing command/output, bench output, reserved flags") {
    auto e = errors_of("{\"jobs\": [\n{\"model\": \"a.pt\"}]}");
    REQUIRE(e.size() == 1);
    CHECK(e[0] == "jobs[0]: \"command\" is missing (in the job and in defaults) (line 2)");
    e = errors_of(R"({"jobs": [{"model": "a.pt", "command": "quantize"}]})");
    CHECK(e.at(0) == "jobs[0]: \"output\" is missing (in the job and in defaults): quantize writes an artifact (line 1)");
    // A default output is for the jobs that write artifacts; a bench job's own output is a mistake.
    CHECK(errors_of(R"({"defaults": {"output": "o.pt"}, "jobs": [{"model": "a.pt", "command": "bench"}]})").empty());
    e = errors_of("{\"jobs\": [{\"model\": \"a.pt\", \"command\": \"bench\",\n\"output\": \"o.pt\"}]}");
    CHECK(e.at(0) == "jobs[0].output: bench writes no artifact; drop \"output\" (its report is kept) (line 2)");
    e = errors_of("{\"jobs\": [{\"model\": \"a.pt\", \"command\": \"bench\",\n\"flags\": {\n\"report\": \"r.json\"}}]}");
    CHECK(e.at(0) == "jobs[0].flags.report: reserved: batch writes each job's report into its job folder (line 3)");
    // A job's null drops a default flag, so the reserved default is gone for that job.
    CHECK(errors_of(R"({"defaults": {"flags": {"report": "r"}}, "jobs": [{"model": "a.pt", "command": "bench", "flags": {"report": null}}]})").empty());
  }

  TEST_CASE("defaults, overrides, templates and the child's arguments") {
    auto dir = mopt::test::temp_dir("batch-expand");
    write(dir / "models/b.pt", "x");
    write(dir / "models/a.pt", "x");
    write(dir / "models/notes.txt", "x");
    const std::string text = R"({
      "defaults": {"command": "quantize", "flags": {"mode": "dynamic", "iterations": 5, "per-tensor": true}},
      "jobs": [
        {"model": "models/*.pt", "name": "{stem}-q", "output": "out/{stem}.{command}.{ext}"},
        {"model": "/abs/c.pt", "command": "bench", "flags": {"mode": null, "per-tensor": false, "fail-if": ["a > 1", "b < 2"]}}
      ]})";
    REQUIRE(errors_of(text).empty());
    const std::string fixed = text;
    write(dir / "m.json", fixed);
    auto manifest = load_manifest(dir / "m.json");
    REQUIRE(manifest.jobs.size() == 3);
    CHECK(manifest.base_dir == dir);
    CHECK(manifest.jobs[0].id == "a-q");  // glob matches sorted; notes.txt not matched
    CHECK(manifest.jobs[1].id == "b-q");
    CHECK(manifest.jobs[2].id == "c-bench");
    CHECK(manifest.jobs[0].output == dir / "out/a.quantize.pt");
    CHECK(manifest.jobs[2].output.empty());
    CHECK(manifest.jobs[0].args == std::vector<std::string>{"quantize", (dir / "models/a.pt").string(), "-o", (dir / "out/a.quantize.pt").string(),
                                                            "--iterations", "5", "--mode", "dynamic", "--per-tensor"});
    CHECK(manifest.jobs[2].args == std::vector<std::string>{"bench", "/abs/c.pt", "--fail-if", "a > 1", "--fail-if", "b < 2", "--iterations", "5"});
    for (size_t i = 0; i < manifest.jobs.size(); ++i) CHECK(manifest.jobs[i].position == i);
    fs::remove_all(dir);
  }

  TEST_CASE("expansion errors: empty glob, unknown template variable, duplicate ids") {
    auto dir = mopt::test::temp_dir("batch-expand-errors");
    write(dir / "a.pt", "x");
    write(dir / "empty.json", "{\"jobs\": [\n{\"model\": \"none/*.pt\", \"command\": \"bench\"}]}");
    auto message = thrown_message([&] { load_manifest(dir / "empty.json"); });
    CHECK(message == "invalid manifest " + (dir / "empty.json").string() + ": jobs[0].model: 'none/*.pt' matches no file (line 2)");
    CHECK(thrown_code([&] { load_manifest(dir / "empty.json"); }) == 4);

    write(dir / "var.json", "{\"jobs\": [{\"model\": \"a.pt\", \"command\": \"optimize\",\n\"output\": \"{stme}.pt\"}]}");
    message = thrown_message([&] { load_manifest(dir / "var.json"); });
    CHECK(contains(message, "jobs[0].output: unknown variable {stme} in '{stme}.pt'; known: {stem}"));
    CHECK(contains(message, "(line 2)"));

    write(dir / "dup.json", "{\"defaults\": {\"command\": \"bench\"}, \"jobs\": [{\"model\": \"a.pt\"},\n{\"model\": \"./a.pt\"}]}");
    message = thrown_message([&] { load_manifest(dir / "dup.json"); });
    CHECK(contains(message, "job id 'a-bench' is also produced by jobs[0]"));

    write(dir / "b.pt", "x");
    write(dir / "same.json", "{\"defaults\": {\"command\": \"optimize\"}, \"jobs\": [{\"model\": \"*.pt\",\n\"output\": \"out.pt\"}]}");
    message = thrown_message([&] { load_manifest(dir / "same.json"); });
    CHECK(contains(message, "jobs[0].output: job 'b-optimize' writes '"));
    CHECK(contains(message, "which job 'a-optimize' writes too; put {stem} or {name} in the template (line 2)"));

    write(dir / "bad.json", "{\"jobs\": [{\"model\": \"a.pt\",\n \"command\": 7}]}");
    message = thrown_message([&] { load_manifest(dir / "bad.json"); });
    CHECK(contains(message, "jobs[0].command: must be one of"));
    CHECK(contains(message, "(line 2)"));
    CHECK(thrown_code([&] { load_manifest(dir / "missing.json"); }) == 4);
    fs::remove_all(dir);
  }

  TEST_CASE("a YAML manifest is the JSON one, and its errors name YAML lines") {
    auto dir = mopt::test::temp_dir("batch-yaml");
    write(dir / "models/a.pt", "x");
    write(dir / "models/b.pt", "x");
    write(dir / "m.json", R"({"defaults": {"command": "quantize", "flags": {"mode": "dynamic", "iterations": 5, "per-tensor": true}},
      "jobs": [{"model": "models/*.pt", "name": "{stem}-q", "output": "out/{stem}.{command}.{ext}"},
               {"model": "/abs/c.pt", "command": "bench", "flags": {"mode": null, "per-tensor": false, "fail-if": ["a > 1", "b < 2"],
                                                                     "input-shape": "1x3x224x224", "calib-samples": "512"}}]})");
    write(dir / "m.yaml", R"(# the same jobs as m.json
defaults:
  command: quantize
  flags: {mode: dynamic, iterations: 5, per-tensor: true}
jobs:
  - model: models/*.pt
    name: "{stem}-q"
    output: out/{stem}.{command}.{ext}
  - model: /abs/c.pt
    command: bench
    flags:
      mode: ~
      per-tensor: false
      fail-if: [a > 1, b < 2]
      input-shape: 1x3x224x224
      calib-samples: '512'
)");
    const auto from_json = load_manifest(dir / "m.json");
    const auto from_yaml = load_manifest(dir / "m.yaml");
    REQUIRE(from_yaml.jobs.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
      CHECK(from_yaml.jobs[i].id == from_json.jobs[i].id);
      CHECK(from_yaml.jobs[i].args == from_json.jobs[i].args);
      CHECK(from_yaml.jobs[i].output == from_json.jobs[i].output);
    }

    write(dir / "bad.yml", "jobs:\n  - model: models/a.pt\n    command: bench\n  - model: models/b.pt\n    command: 7\n");
    auto message = thrown_message([&] { load_manifest(dir / "bad.yml"); });
    CHECK(contains(message, "jobs[1].command: must be one of"));
    CHECK(contains(message, "(line 5)"));
    CHECK(thrown_code([&] { load_manifest(dir / "bad.yml"); }) == 4);

    write(dir / "syntax.yaml", "jobs:\n  - model: a.pt\n    command: [bench\n");
    message = thrown_message([&] { load_manifest(dir / "syntax.yaml"); });
    CHECK(contains(message, "not valid YAML"));
    CHECK(contains(message, "(line "));
    CHECK(thrown_code([&] { load_manifest(dir / "syntax.yaml"); }) == 4);

    write(dir / "key.yaml", "jobs:\n  - ? [a, b]\n    : c\n");
    CHECK(contains(thrown_message([&] { load_manifest(dir / "key.yaml"); }), "a key must be a plain value (line 2)"));
    fs::remove_all(dir);
  }

  TEST_CASE("templates") {
    std::vector<std::pair<std::string, std::string>> vars = {{"stem", "cnn"}, {"dir", "/m"}};
    CHECK(expand_template("{dir}/{stem}.int8.pt", vars) == "/m/cnn.int8.pt");
    CHECK(expand_template("{{literal}}-{stem}", vars) == "{literal}-cnn");
    CHECK(thrown_code([&] { expand_template("{stem", vars); }) == 4);
    CHECK(thrown_code([&] { expand_template("{nope}", vars); }) == 4);
    CHECK(flag_arguments(json{{"b", 0.5}, {"a", true}, {"c", false}, {"d", json::array({1, "x"})}}) ==
          std::vector<std::string>{"--a", "--b", "0.5", "--d", "1", "--d", "x"});
  }

  TEST_CASE("shard assignment is round-robin, disjoint and complete") {
    for (int count : {1, 2, 3, 7}) {
      std::map<size_t, int> owner;
      std::vector<size_t> per_shard(count, 0);
      for (int index = 0; index < count; ++index) {
        for (size_t p = 0; p < 20; ++p) {
          if (in_shard(p, {index, count})) {
            CHECK(owner.count(p) == 0);
            owner[p] = index;
            ++per_shard[index];
          }
        }
      }
      CHECK(owner.size() == 20);
      auto [lo, hi] = std::minmax_element(per_shard.begin(), per_shard.end());
      CHECK(*hi - *lo <= 1);
    }
    CHECK(parse_shard("1/4") == Shard{1, 4});
    CHECK(thrown_code([] { parse_shard("4/4"); }) == 2);
    CHECK(thrown_code([] { parse_shard("-1/4"); }) == 2);
    CHECK(thrown_code([] { parse_shard("1"); }) == 2);
    CHECK(thrown_code([] { parse_shard("a/b"); }) == 2);
  }

  TEST_CASE("shards from Slurm and Kubernetes environments") {
    auto env = [](std::map<std::string, std::string> vars) {
      return [vars](const char* name) -> const char* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
      };
    };
    CHECK(!shard_from_environment(0, env({})).has_value());
    CHECK(shard_from_environment(0, env({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})) == Shard{2, 4});
    // --array=1-4: IDs 1..4, counted from SLURM_ARRAY_TASK_MIN.
    CHECK(shard_from_environment(0, env({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"}})) ==
          Shard{3, 4});
    CHECK(shard_from_environment(3, env({{"JOB_COMPLETION_INDEX", "1"}})) == Shard{1, 3});
    CHECK(shard_from_environment(0, env({{"JOB_COMPLETION_INDEX", "1"}, {"MOPT_SHARD_COUNT", "2"}})) == Shard{1, 2});
    CHECK(thrown_code([&] { shard_from_environment(0, env({{"JOB_COMPLETION_INDEX", "1"}})); }) == 2);
    CHECK(thrown_code([&] { shard_from_environment(2, env({{"JOB_COMPLETION_INDEX", "2"}})); }) == 2);
    CHECK(thrown_code([&] { shard_from_environment(2, env({})); }) == 2);
  }

  TEST_CASE("job keys follow input bytes and arguments; done records check the files") {
    auto dir = mopt::test::temp_dir("batch-keys");
    write(dir / "m.pt", "model-bytes");
    write(dir / "teacher.pt", "teacher");
    JobSpec job;
    job.id = "m";
    job.command = "optimize";
    job.model = dir / "m.pt";
    job.output = dir / "out.pt";
    job.flags = {{"teacher", "teacher.pt"}, {"data", "/usr/share"}};
    job.args = {"optimize", job.model.string(), "-o", job.output.string()};
    auto inputs = job_input_files(job, dir);
    CHECK(inputs == std::vector<fs::path>{dir / "m.pt", dir / "teacher.pt"});  // folders are not hashed
    const auto key = job_key(job, dir);
    CHECK(key.size() == 64);
    CHECK(job_key(job, dir) == key);
    write(dir / "teacher.pt", "teacher v2");
    const auto key2 = job_key(job, dir);
    CHECK(key2 != key);
    JobSpec other = job;
    other.args.push_back("--iterations");
    other.args.push_back("5");
    CHECK(job_key(other, dir) != key2);

    auto paths = job_paths(dir / "state", "m");
    fs::create_directories(paths.dir);
    CHECK(done_record(paths, key2).is_null());
    write(job.output, "artifact");
    write(paths.report, "{}");
    record_done(paths, job, key2, 0, 1.5);
    CHECK(!done_record(paths, key2).is_null());
    CHECK(done_record(paths, key).is_null());  // another key
    write(job.output, "artifacT");            // same size, other bytes
    CHECK(done_record(paths, key2).is_null());
    write(job.output, "artifact");
    CHECK(!done_record(paths, key2).is_null());
    fs::remove(job.output);
    CHECK(done_record(paths, key2).is_null());
    // A failed run is never recorded as done.
    write(job.output, "artifact");
    record_done(paths, job, key2, 1, 1.0);
    CHECK(done_record(paths, key2).is_null());
    clear_job(paths);
    CHECK(!fs::exists(paths.done));
    fs::remove_all(dir);
  }

  TEST_CASE("the worst job outcome decides the batch exit code: 130 > 1 > 4 > 3 > 0") {
    CHECK(batch_exit_code(json::array({row("a", "ok", 0)})) == 0);
    CHECK(batch_exit_code(json::array({row("a", "ok", 0), row("b", "gate-failed", 3)})) == 3);
    CHECK(batch_exit_code(json::array({row("a", "invalid-input", 4), row("b", "gate-failed", 3)})) == 4);
    CHECK(batch_exit_code(json::array({row("a", "usage-error", 2)})) == 4);
    CHECK(batch_exit_code(json::array({row("a", "invalid-input", 4), row("b", "crashed", 139)})) == 1);
    CHECK(batch_exit_code(json::array({row("a", "timeout", 143), row("b", "gate-failed", 3)})) == 1);
    CHECK(batch_exit_code(json::array({row("a", "failed", 1), row("b", "not-run", -1)})) == 130);
  }

  TEST_CASE("JUnit has a case per job and per gate") {
    json rows = json::array({row("a", "ok", 0), row("b&c", "gate-failed", 3, 1), row("d", "invalid-input", 4, 2)});
    rows[1]["gates"] = json::array({{{"name", "latency"}, {"expression", "p50 > 1"}, {"passed", false}, {"detail", "2 > 1"}},
                                    {{"name", "acc"}, {"expression", "top1 < 0.5"}, {"passed", true}, {"detail", ""}}});
    auto xml = batch_junit_xml(rows);
    CHECK(contains(xml, "tests=\"5\" failures=\"2\" errors=\"1\""));
    CHECK(contains(xml, "name=\"b&amp;c\""));
    CHECK(contains(xml, "classname=\"mopt.batch.b&amp;c\" name=\"latency\""));
    auto md = batch_markdown(rows, 4, "t");
    CHECK(contains(md, "| `d` | **invalid-input** | 4 |"));
  }

  TEST_CASE("merge checks the shards belong together") {
    auto report = [](int index, int count, const std::string& sha, json jobs) {
      return json{{"command", "batch"},
                  {"details", {{"batch", {{"manifest", "/m.json"}, {"manifest_sha256", sha}, {"shard", {{"index", index}, {"count", count}}},
                                          {"jobs", jobs}, {"interrupted", false}}}}}};
    };
    auto a = report(0, 2, "s", json::array({row("x", "ok", 0, 0), row("z", "gate-failed", 3, 2)}));
    auto b = report(1, 2, "s", json::array({row("y", "invalid-input", 4, 1)}));
    auto merged = merge_batch_details({b, a}, {"b", "a"});
    REQUIRE(merged["jobs"].size() == 3);
    CHECK(merged["jobs"][0]["id"] == "x");
    CHECK(merged["jobs"][1]["id"] == "y");
    CHECK(merged["jobs"][2]["id"] == "z");
    CHECK(merged["exit_code"] == 4);
    CHECK(merged["shard"]["count"] == 1);
    CHECK(thrown_code([&] { merge_batch_details({a}, {"a"}); }) == 4);  // shard 1 missing
    CHECK(thrown_code([&] { merge_batch_details({a, a}, {"a", "a"}); }) == 4);
    CHECK(thrown_code([&] { merge_batch_details({a, report(1, 2, "other", json::array())}, {"a", "c"}); }) == 4);
    CHECK(thrown_code([&] { merge_batch_details({a, report(1, 3, "s", json::array())}, {"a", "c"}); }) == 4);
    CHECK(thrown_code([&] { merge_batch_details({json{{"command", "bench"}}}, {"r"}); }) == 4);
  }
}
