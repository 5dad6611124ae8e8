// `mopt bench`'s CI contract: --fail-if gates, noise-aware baseline regressions, report comparison,
// JUnit XML and Markdown output, all over the canned reports in tests/fixtures/reports.

#include <algorithm>
#include <fstream>
#include <functional>
#include <vector>

#include "lib/bench/regression.h"
#include "lib/measure/ci_output.h"
#include "lib/measure/gates.h"
#include "tests/unit/report_schema_check.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::committed;
using mopt::test::contains;
using mopt::test::thrown_code;
using mopt::test::thrown_message;
using nlohmann::json;

namespace {

json canned(const std::string& name) {
  std::ifstream in(committed("reports/" + name + ".json"));
  REQUIRE(in.good());
  return json::parse(in);
}

json metrics(const std::string& name) { return canned(name)["metrics"]; }

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + part.size())) ++n;
  return n;
}

const GateResult& for_row(const std::vector<GateResult>& results, const std::string& row) {
  auto it = std::find_if(results.begin(), results.end(),
                         [&](const GateResult& r) { return contains(r.name, "[" + row + "]"); });
  REQUIRE(it != results.end());
  return *it;
}

const json& entry(const json& comparison, const std::string& field, const json& row) {
  for (const auto& e : comparison) {
    if (e["field"] == field && e["row"] == row) return e;
  }
  FAIL("no comparison entry for " << field << " " << row.dump());
  return comparison;  // unreachable
}


// Minimal well-formedness check: balanced tags, quoted attributes without '<', only known entities.
std::string xml_problem(const std::string& xml) {
  std::vector<std::string> open;
  size_t i = 0;
  if (xml.rfind("<?xml", 0) == 0) i = xml.find("?>") + 2;
  while (i < xml.size()) {
    if (xml[i] == '&') {
      size_t end = xml.find(';', i);
      if (end == std::string::npos) return "unterminated entity";
      std::string entity = xml.substr(i, end - i + 1);
      static const std::vector<std::string> kKnown = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#10;", "&#9;",
                                                      "&#13;"};
      if (std::find(kKnown.begin(), kKnown.end(), entity) == kKnown.end()) return "bad entity " + entity;
      i = end + 1;
    } else if (xml[i] == '>') {
      return "stray '>' in text at " + std::to_string(i);
    } else if (xml[i] != '<') {
      ++i;
    } else {
      size_t end = i + 1;
      bool quoted = false;
      for (; end < xml.size() && (quoted || xml[end] != '>'); ++end) {
        if (xml[end] == '"') quoted = !quoted;
        if (quoted && (xml[end] == '<' || xml[end] == '>')) return "raw '<' or '>' inside an attribute";
      }
      if (end >= xml.size()) return "unterminated tag";
      std::string tag = xml.substr(i + 1, end - i - 1);
      const bool closing = tag[0] == '/';
      const bool self_closing = tag.back() == '/';
      std::string name = tag.substr(closing ? 1 : 0, tag.find_first_of(" /", closing ? 1 : 0) - (closing ? 1 : 0));
      if (closing) {
        if (open.empty() || open.back() != name) return "mismatched </" + name + ">";
        open.pop_back();
      } else if (!self_closing) {
        open.push_back(name);
      }
      i = end + 1;
    }
  }
  return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

}  // namespace

TEST_SUITE("bench-gates") {
  TEST_CASE("the canned reports validate against the report schema") {
    for (const char* name : {"baseline", "regressed", "noisy", "improved"}) {
      CAPTURE(name);
      CHECK(mopt::test::report_schema_errors(canned(name)) == "");
    }
  }

  TEST_CASE("parse_gate accepts FIELD OP NUMBER with or without spaces") {
    auto g = parse_gate("latency.p95_ms > 12");
    CHECK(g.field == "latency.p95_ms");
    CHECK(g.op == ">");
    CHECK(g.threshold == 12);
    CHECK(g.text == "latency.p95_ms > 12");

    g = parse_gate("accuracy.top1<0.90");
    CHECK(g.field == "accuracy.top1");
    CHECK(g.op == "<");
    CHECK(g.threshold == doctest::Approx(0.9));
    CHECK(g.text == "accuracy.top1 < 0.90");

    g = parse_gate("  memory.peak_mb >= 200 ");
    CHECK(g.op == ">=");
    CHECK(g.threshold == 200);
    CHECK(parse_gate("latency.p50_ms<=1e-1").op == "<=");
    CHECK(parse_gate("work.gflops == -2").threshold == -2);
    CHECK(parse_gate("latency.cv != 0").op == "!=");
  }

  TEST_CASE("parse_gate rejects malformed expressions with exit 2 and an example") {
    for (const char* bad : {"", "latency.p95_ms", "latency.p95_ms >", "> 12", "latency.p95_ms > twelve",
                            "latency p95 > 1", "latency.p95_ms => 12", "latency..p95_ms > 1", "latency.p95_ms > 1 > 2",
                            "latency.p95_ms > nan", "latency.p95_ms > 12ms"}) {
      CAPTURE(bad);
      CHECK(thrown_code([&] { parse_gate(bad); }) == 2);
      CHECK(contains(thrown_message([&] { parse_gate(bad); }), "e.g. 'latency.p95_ms > 12'"));
    }
  }

  TEST_CASE("fail-if gives one result per row and fails where the expression is true") {
    auto results = evaluate_fail_if(parse_gate("latency.p95_ms > 1"), metrics("baseline"));
    REQUIRE(results.size() == 2);
    const auto& small = for_row(results, "batch=1 threads=2");
    CHECK(small.passed);
    CHECK(small.value == doctest::Approx(0.33));
    CHECK(small.name == "fail-if latency.p95_ms > 1 [batch=1 threads=2]");
    const auto& big = for_row(results, "batch=8 threads=2");
    CHECK_FALSE(big.passed);
    CHECK(big.value == doctest::Approx(2.0));
    CHECK(big.expression == "latency.p95_ms > 1");
    CHECK(contains(big.detail, "gate failed"));

    // Throughput is a row field too; a top-level field gives exactly one result.
    auto throughput = evaluate_fail_if(parse_gate("throughput.samples_per_s < 4000"), metrics("baseline"));
    CHECK(for_row(throughput, "batch=1 threads=2").passed == false);
    CHECK(for_row(throughput, "batch=8 threads=2").passed == true);
    auto accuracy_ok = evaluate_fail_if(parse_gate("accuracy.top1 < 0.90"), metrics("baseline"));
    REQUIRE(accuracy_ok.size() == 1);
    CHECK(accuracy_ok[0].passed);
    CHECK(accuracy_ok[0].name == "fail-if accuracy.top1 < 0.90");
    auto accuracy_bad = evaluate_fail_if(parse_gate("accuracy.top1 < 0.95"), metrics("baseline"));
    REQUIRE(accuracy_bad.size() == 1);
    CHECK_FALSE(accuracy_bad[0].passed);
  }

  TEST_CASE("a row that did not measure the field is not gated") {
    json m = metrics("baseline");
    m["rows"][1].erase("memory");
    auto results = evaluate_fail_if(parse_gate("memory.peak_mb > 100"), m);
    REQUIRE(results.size() == 2);
    CHECK_FALSE(for_row(results, "batch=1 threads=2").passed);
    CHECK(for_row(results, "batch=8 threads=2").passed);
    CHECK(contains(for_row(results, "batch=8 threads=2").detail, "not measured"));
  }

  TEST_CASE("an unknown field is a usage error listing the valid fields") {
    const json m = metrics("baseline");
    auto gate = parse_gate("latency.p42_ms > 1");
    CHECK(thrown_code([&] { evaluate_fail_if(gate, m); }) == 2);
    std::string message = thrown_message([&] { evaluate_fail_if(gate, m); });
    CHECK(contains(message, "latency.p42_ms"));
    CHECK(contains(message, "latency.p95_ms"));
    CHECK(contains(message, "accuracy.top1"));
    CHECK(contains(message, "throughput.samples_per_s"));
  }

  TEST_CASE("a field that was not measured says which flag measures it") {
    json m = metrics("baseline");
    m.erase("accuracy");
    auto gate = parse_gate("accuracy.top1 < 0.9");
    CHECK(thrown_code([&] { evaluate_fail_if(gate, m); }) == 2);
    std::string message = thrown_message([&] { evaluate_fail_if(gate, m); });
    CHECK(contains(message, "accuracy.top1 needs --data with labels"));
    CHECK(contains(message, "latency.p50_ms"));
  }

  TEST_CASE("a field held as null (top-1 agreement of a rank-3 output) is not gated as a pass: usage error saying why") {
    json m = metrics("baseline");
    m["agreement"]["top1_agreement"] = nullptr;
    auto gate = parse_gate("agreement.top1_agreement < 0.98");
    CHECK(thrown_code([&] { evaluate_fail_if(gate, m); }) == 2);
    std::string message = thrown_message([&] { evaluate_fail_if(gate, m); });
    CHECK(contains(message, "was not measured for this model: top-1 agreement compares the argmax over dim 1"));
    CHECK(contains(message, "agreement.cosine"));
  }

  TEST_CASE("numeric_fields flattens rows once and skips non-measurements") {
    auto fields = numeric_fields(metrics("baseline"));
    auto has = [&](const std::string& f) { return std::count(fields.begin(), fields.end(), f); };
    CHECK(has("latency.p50_ms") == 1);
    CHECK(has("memory.peak_mb") == 1);
    CHECK(has("work.gflops") == 1);
    CHECK(has("model.parameters") == 1);
    CHECK(has("cold_start.load_ms") == 1);
    CHECK(has("agreement.sqnr_db") == 1);
    CHECK(has("batch") == 0);
    CHECK(has("threads") == 0);
    CHECK(has("latency.p50_ci95_ms") == 0);
    CHECK(has("stop_rule") == 0);
    CHECK(std::is_sorted(fields.begin(), fields.end()));
  }

  TEST_CASE("parse_regression reads relative, percentage-point and absolute limits") {
    auto r = parse_regression("latency.p50_ms=5%");
    CHECK(r.field == "latency.p50_ms");
    CHECK(r.percent);
    CHECK(r.amount == 5);
    CHECK(r.text == "latency.p50_ms=5%");
    r = parse_regression("accuracy.top1=0.5pt");
    CHECK_FALSE(r.percent);
    CHECK(r.amount == doctest::Approx(0.005));
    r = parse_regression("memory.peak_mb = 10");
    CHECK_FALSE(r.percent);
    CHECK(r.amount == 10);
    CHECK(r.text == "memory.peak_mb=10");
    for (const char* bad : {"latency.p50_ms", "latency.p50_ms=", "=5%", "latency.p50_ms=-5%", "latency.p50_ms=five%",
                            "latency p50=5%", "accuracy.top1=pt"}) {
      CAPTURE(bad);
      CHECK(thrown_code([&] { parse_regression(bad); }) == 2);
      CHECK(contains(thrown_message([&] { parse_regression(bad); }), "e.g. 'latency.p50_ms=5%'"));
    }
  }

  TEST_CASE("higher_is_better knows each metric's direction") {
    for (const char* f : {"accuracy.top1", "accuracy.top5", "throughput.samples_per_s", "throughput.inferences_per_s",
                          "work.gflops", "agreement.cosine", "agreement.sqnr_db", "agreement.top1_agreement"}) {
      CAPTURE(f);
      CHECK(higher_is_better(f));
    }
    for (const char* f : {"latency.p50_ms", "latency.cv", "memory.peak_mb", "model.file_mb", "cold_start.load_ms",
                          "agreement.max_abs_diff"}) {
      CAPTURE(f);
      CHECK_FALSE(higher_is_better(f));
    }
  }

  TEST_CASE("a clear latency regression with separated CIs fails") {
    auto rule = parse_regression("latency.p50_ms=5%");
    auto results = check_regressions(rule, metrics("baseline"), metrics("regressed"));
    REQUIRE(results.size() == 2);
    const auto& small = for_row(results, "batch=1 threads=2");
    CHECK_FALSE(small.passed);
    CHECK(small.detail ==
          "p50 0.330 ms vs 0.300 ms (+10.0%, limit 5%); 95% CIs [0.325,0.335] vs [0.295,0.305] do not overlap: "
          "significant regression");
    CHECK(small.name == "regression latency.p50_ms=5% [batch=1 threads=2]");
    CHECK(small.value == doctest::Approx(0.33));
    CHECK_FALSE(for_row(results, "batch=8 threads=2").passed);
  }

  TEST_CASE("a noise-only difference (+6% but overlapping CIs) passes and says why") {
    auto results = check_regressions(parse_regression("latency.p50_ms=5%"), metrics("baseline"), metrics("noisy"));
    REQUIRE(results.size() == 2);
    for (const auto& r : results) {
      CAPTURE(r.detail);
      CHECK(r.passed);
      CHECK(contains(r.detail, "not significant"));
      CHECK(contains(r.detail, "overlap"));
    }
    CHECK(contains(for_row(results, "batch=1 threads=2").detail, "+6.0%"));
  }

  TEST_CASE("an improvement passes") {
    for (const char* rule : {"latency.p50_ms=5%", "throughput.samples_per_s=5%", "memory.peak_mb=1"}) {
      CAPTURE(rule);
      for (const auto& r : check_regressions(parse_regression(rule), metrics("baseline"), metrics("improved"))) {
        CHECK(r.passed);
        CHECK(contains(r.detail, "improvement"));
      }
    }
  }

  TEST_CASE("fields without a CI compare point values") {
    auto results = check_regressions(parse_regression("throughput.samples_per_s=5%"), metrics("baseline"),
                                     metrics("regressed"));
    REQUIRE(results.size() == 2);
    CHECK_FALSE(results[0].passed);
    CHECK(contains(results[0].detail, "-9.1%"));
    CHECK(contains(results[0].detail, ": regression"));
    // p95 carries no CI in the report, so +6% on it is a regression even for the noisy run.
    auto p95 = check_regressions(parse_regression("latency.p95_ms=5%"), metrics("baseline"), metrics("noisy"));
    CHECK_FALSE(for_row(p95, "batch=1 threads=2").passed);
    CHECK(for_row(p95, "batch=8 threads=2").passed);  // 2.1 vs 2.0 is exactly +5%: at the limit
  }

  TEST_CASE("accuracy limits in percentage points") {
    auto rule = parse_regression("accuracy.top1=0.5pt");
    auto dropped = check_regressions(rule, metrics("baseline"), metrics("regressed"));  // -0.8pt
    REQUIRE(dropped.size() == 1);
    CHECK_FALSE(dropped[0].passed);
    CHECK(contains(dropped[0].detail, "-0.80pt"));
    CHECK(contains(dropped[0].detail, "limit 0.5pt"));
    auto slight = check_regressions(rule, metrics("baseline"), metrics("noisy"));  // -0.3pt
    REQUIRE(slight.size() == 1);
    CHECK(slight[0].passed);
    CHECK(contains(slight[0].detail, "within limit"));
  }

  TEST_CASE("rows are matched by batch and threads; a new row has no baseline") {
    json candidate = metrics("regressed");
    json extra = candidate["rows"][0];
    extra["batch"] = 16;
    candidate["rows"].push_back(extra);
    json baseline = metrics("baseline");
    std::reverse(baseline["rows"].begin(), baseline["rows"].end());  // order must not matter
    auto results = check_regressions(parse_regression("latency.p50_ms=5%"), baseline, candidate);
    REQUIRE(results.size() == 3);
    CHECK_FALSE(for_row(results, "batch=1 threads=2").passed);
    const auto& fresh = for_row(results, "batch=16 threads=2");
    CHECK(fresh.passed);
    CHECK(contains(fresh.detail, "no baseline row"));
  }

  TEST_CASE("a regression rule on an unmeasured field is a usage error") {
    json candidate = metrics("regressed");
    candidate.erase("accuracy");
    auto rule = parse_regression("accuracy.top1=0.5pt");
    CHECK(thrown_code([&] { check_regressions(rule, metrics("baseline"), candidate); }) == 2);
    CHECK(contains(thrown_message([&] { check_regressions(rule, metrics("baseline"), candidate); }),
                   "needs --data with labels"));
    CHECK(thrown_code([&] {
            check_regressions(parse_regression("latency.p42_ms=5%"), metrics("baseline"), metrics("regressed"));
          }) == 2);
  }

  TEST_CASE("compare_reports marks better, worse and significance") {
    const json row1 = "batch=1 threads=2";
    auto worse = compare_reports(canned("baseline"), canned("regressed"));
    const auto& p50 = entry(worse, "latency.p50_ms", row1);
    CHECK(p50["a"].get<double>() == doctest::Approx(0.30));
    CHECK(p50["b"].get<double>() == doctest::Approx(0.33));
    CHECK(p50["delta"].get<double>() == doctest::Approx(0.03));
    CHECK(p50["delta_pct"].get<double>() == doctest::Approx(10.0));
    CHECK(p50["change"] == "worse");
    CHECK(p50["significant"] == true);
    CHECK(entry(worse, "throughput.samples_per_s", row1)["change"] == "worse");
    CHECK(entry(worse, "accuracy.top1", nullptr)["change"] == "worse");
    CHECK(entry(worse, "model.parameters", nullptr)["change"] == "same");
    CHECK_FALSE(entry(worse, "accuracy.top1", nullptr).contains("significant"));

    auto better = compare_reports(canned("baseline"), canned("improved"));
    CHECK(entry(better, "latency.p50_ms", row1)["change"] == "better");
    CHECK(entry(better, "throughput.samples_per_s", "batch=8 threads=2")["change"] == "better");
    CHECK(entry(better, "accuracy.top1", nullptr)["change"] == "better");
    CHECK(entry(better, "memory.peak_mb", row1)["change"] == "better");

    auto noise = compare_reports(metrics("baseline"), metrics("noisy"));  // metrics objects work too
    CHECK(entry(noise, "latency.p50_ms", row1)["significant"] == false);

    std::string table = render_comparison(worse);
    CHECK(contains(table, "latency.p50_ms"));
    CHECK(contains(table, "worse (significant)"));
    CHECK(contains(table, "+10.0%"));
    CHECK(count_of(table, "\n") == worse.size() + 1);
    // Aligned: the "row" column starts at the same offset on every line.
    const size_t column = table.find("row");
    size_t start = 0;
    for (size_t end = table.find('\n'); end != std::string::npos; end = table.find('\n', start)) {
      std::string line = table.substr(start, end - start);
      CHECK(line[column - 1] == ' ');
      CHECK(line[column] != ' ');
      start = end + 1;
    }
    CHECK(contains(render_comparison(json::array()), "no numeric metric"));
  }

  TEST_CASE("JUnit XML is well-formed, counts failures and escapes names") {
    auto gates = evaluate_fail_if(parse_gate("latency.p95_ms > 1"), metrics("baseline"));
    GateResult odd;
    odd.name = "a<b & \"c\" 'd'";
    odd.expression = "x < 1 & y > 2";
    odd.passed = false;
    odd.detail = "value <1> & more\nsecond line";
    gates.push_back(odd);
    std::string xml = gates_junit_xml(gates, "mopt bench <fashion & cnn>");
    CAPTURE(xml);
    CHECK(xml_problem(xml) == "");
    CHECK(count_of(xml, "<testcase ") == 3);
    CHECK(count_of(xml, "<failure ") == 2);
    CHECK(contains(xml, "<testsuite name=\"mopt bench &lt;fashion &amp; cnn&gt;\" tests=\"3\" failures=\"2\""));
    CHECK(contains(xml, "name=\"a&lt;b &amp; &quot;c&quot; &apos;d&apos;\" classname=\"mopt.bench\""));
    CHECK(contains(xml, "value &lt;1&gt; &amp; more"));
    CHECK_FALSE(contains(xml, "a<b"));

    std::string empty = gates_junit_xml({}, "bench");
    CHECK(xml_problem(empty) == "");
    CHECK(contains(empty, "<testsuite name=\"bench\" tests=\"0\" failures=\"0\""));
    CHECK(count_of(empty, "<testcase") == 0);
  }

  TEST_CASE("Markdown summary has a line per row, accuracy, gates and the verdict") {
    std::string md = bench_markdown(canned("baseline"));
    CAPTURE(md);
    CHECK(contains(md, "| batch | threads | p50 ms | p95 ms |"));
    CHECK(contains(md, "| 1 | 2 | 0.300 | 0.330 | 0.295–0.305 | 3300.0 | 180.0 |"));
    CHECK(contains(md, "| 8 | 2 | 1.800 | 2.000 | 1.780–1.820 | 4400.0 | 190.0 |"));
    CHECK(contains(md, "top-1 90.39%"));
    CHECK(contains(md, "cosine 0.999900"));
    CHECK(contains(md, "| ✅ | fail-if latency.p95_ms > 5 [batch=1 threads=2] |"));
    CHECK(contains(md, "**Verdict**: ✅ pass"));

    std::string failed = bench_markdown(canned("regressed"));
    CHECK(contains(failed, "| ❌ |"));
    CHECK(contains(failed, "**Verdict**: ❌ fail"));

    json bare = canned("noisy");
    bare["metrics"].erase("accuracy");
    bare["metrics"].erase("agreement");
    std::string plain = bench_markdown(bare);
    CHECK_FALSE(contains(plain, "Accuracy"));
    CHECK_FALSE(contains(plain, "Agreement"));
    CHECK(contains(plain, "| 8 | 2 | 1.908 |"));
  }
}
