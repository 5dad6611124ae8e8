# Sourced by the fuzz and sanitizer scripts: sanitizer options and the suppressions for the
# uninstrumented libraries (LibTorch, ONNX, protobuf from Debian), which are committed next to the
# targets in tests/fuzz/.
_supp="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/fuzz"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=0:detect_odr_violation=0:${ASAN_OPTIONS_EXTRA:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$_supp/ubsan.supp"
export LSAN_OPTIONS="suppressions=$_supp/lsan.supp:print_suppressions=0"
unset _supp
