#pragma once
// A check of the TorchScript code in an archive (code/**/*.py) before LibTorch compiles it, for the
// one malformation known to crash LibTorch 1.13: a class-body assignment without a type
// (`__palameters__ = [...]`, one flipped bit away from `__parameters__`). LibTorch's class importer
// takes every such line for a constant and ScriptTypeParser::parseClassConstant reads the type
// annotation the line lacks: undefined behaviour that crashed (SEGV) depending on heap layout.
#include <string>

namespace mopt {

/// "" when every class body in `code` assigns without a type only the names LibTorch reads that
/// way (`__parameters__`, `__buffers__`, `__annotations__`, forward hooks; any name in an Enum);
/// otherwise which line does not.
std::string torchscript_code_problem(const std::string& code);

}  // namespace mopt
