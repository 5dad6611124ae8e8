// The gates of `mopt quantize`: a result slower than the fp32 the user has is not written unless
// --allow-slower; fp16/bf16 weight storage (for size) is; nothing is judged without timing.
#include <doctest/doctest.h>

#include "lib/errors.h"
#include "lib/quantize/quantize_workflow.h"

using namespace mopt;

namespace {

quant::QuantizeOutcome timed_outcome(double speedup) {
  quant::QuantizeOutcome outcome;
  outcome.metrics = {{"speedup_p50", speedup}, {"agreement", {{"sqnr_db", 40.0}}}};
  outcome.speedup = speedup;
  return outcome;
}

int gate_exit(const quant::QuantizeRequest& request, const quant::QuantizeOutcome& outcome, double speedup) {
  Report report("quantize", {});
  try {
    quant::enforce_quantize_gates(request, outcome, speedup, report);
  } catch (const Error& e) {
    return static_cast<int>(e.code());
  }
  return 0;
}

}  // namespace

TEST_SUITE("quantize-gates") {
  TEST_CASE("slower than fp32: exit 3 unless --allow-slower; faster, or not timed: written") {
    quant::QuantizeRequest request;
    request.mode = "static";
    CHECK(gate_exit(request, timed_outcome(0.8), 0.8) == 3);
    CHECK(gate_exit(request, timed_outcome(1.3), 1.3) == 0);
    CHECK(gate_exit(request, timed_outcome(1.3), 0.9) == 3);  // slower than an .onnx input in ONNX Runtime
    quant::QuantizeOutcome untimed;
    untimed.metrics = {{"agreement", {{"sqnr_db", 40.0}}}};
    CHECK(gate_exit(request, untimed, 0) == 0);
    request.allow_slower = true;
    CHECK(gate_exit(request, timed_outcome(0.8), 0.8) == 0);
  }

  TEST_CASE("fp16/bf16 weight storage is for size: written however slow; bf16 compute is for speed") {
    quant::QuantizeRequest request;
    request.mode = "fp16";
    CHECK(gate_exit(request, timed_outcome(0.5), 0.5) == 0);
    request.mode = "bf16-compute";
    CHECK(gate_exit(request, timed_outcome(0.5), 0.5) == 3);
  }

  TEST_CASE("--require-speedup: a tie is not a speedup; an accuracy target not met writes nothing") {
    quant::QuantizeRequest request;
    request.require_speedup = true;
    CHECK(gate_exit(request, timed_outcome(1.0), 1.0) == 3);
    request.require_speedup = false;
    request.target.min_sqnr_db = 45;
    auto outcome = timed_outcome(2.0);
    outcome.target_met = false;
    CHECK(gate_exit(request, outcome, 2.0) == 3);
  }
}
