#pragma once
// Textual pipelines, MLIR style: `freeze,fold-conv-bn,quantize-static{calibrator=entropy per-channel=true}`.
// Grammar: pipeline := step (',' step)* ; step := NAME ['{' (KEY '=' VALUE)* '}'].
// Options are space-separated; a value is any run of characters without whitespace or '}'.
#include <string>
#include <utility>
#include <vector>

#include "lib/pipeline/pass_registry.h"

namespace mopt {

/// One step: a pass name and the options written for it, in the order written.
struct PassInvocation {
  std::string name;
  std::vector<std::pair<std::string, std::string>> options;
  bool operator==(const PassInvocation& other) const {
    return name == other.name && options == other.options;
  }
};

/// An ordered list of pass invocations.
struct Pipeline {
  std::vector<PassInvocation> steps;
  bool operator==(const Pipeline& other) const { return steps == other.steps; }
};

/// Parses pipeline text (syntax only). Throws usage_error naming the offending column.
Pipeline parse_pipeline(const std::string& text);

/// Canonical text of a pipeline; parse_pipeline(print_pipeline(p)) == p.
std::string print_pipeline(const Pipeline& pipeline);
/// Canonical text of one step.
std::string print_step(const PassInvocation& step);

/// Checks every pass and option exists and every value has its declared type. Unknown names
/// throw usage_error listing the valid ones.
void validate_pipeline(const Pipeline& pipeline, const PassRegistry& registry);

}  // namespace mopt
