# Sourced by the fuzz and sanitizer scripts: sanitizer options and the suppressions for the
# uninstrumented libraries (LibTorch, ONNX, protobuf from Debian), which are committed next to the
# targets in tests/fuzz/.
# quarantine_size_mb=16 (ASan's default 256): a freed block waits for 16 MB of later frees instead of
# 256 before it is reused, so a use after free is still caught unless 16 MB were freed in between.
# With 256, every process touched up to 256 MB of fresh pages for small blocks, at ~12 us a fault on
# this VM: cli.test_optimize and cli.test_bench took 60.5 s, now 53 (docs/benchmarks.md, "Fuzzing and sanitizers").
_supp="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/fuzz"
export ASAN_OPTIONS="detect_leaks=1:quarantine_size_mb=16:abort_on_error=1:symbolize=1:allocator_may_return_null=0:detect_odr_violation=0:${ASAN_OPTIONS_EXTRA:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$_supp/ubsan.supp"
export LSAN_OPTIONS="suppressions=$_supp/lsan.supp:print_suppressions=0"
unset _supp
