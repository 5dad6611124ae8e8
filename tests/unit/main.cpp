#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "lib/runtime/asan_tensor_cache.h"

int main(int argc, char** argv) {
  mopt::install_asan_tensor_cache();
  return doctest::Context(argc, argv).run();
}
