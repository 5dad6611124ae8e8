// What one minor page fault costs on this machine: maps MB megabytes of fresh anonymous memory,
// writes one byte per 4 KiB page (one fault each), unmaps it, and prints microseconds per fault
// for each of REPS rounds, optionally pausing PAUSE_MS between rounds (to see whether pages handed
// back to a hypervisor in between cost more).
//   gcc -O2 scripts/bench/page_fault_cost.c -o /tmp/page_fault_cost && /tmp/page_fault_cost MB REPS [PAUSE_MS]
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MB REPS [PAUSE_MS]\n", argv[0]);
    return 2;
  }
  const size_t bytes = (size_t)atoi(argv[1]) << 20;
  const int reps = atoi(argv[2]);
  const int pause_ms = argc > 3 ? atoi(argv[3]) : 0;
  const long pages = (long)(bytes / 4096);
  for (int r = 0; r < reps; ++r) {
    volatile char* p = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    const double start = now_us();
    for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
    const double elapsed = now_us() - start;
    munmap((void*)p, bytes);
    printf("round %d: %.2f us per fault (%ld faults)\n", r, elapsed / pages, pages);
    if (pause_ms) usleep(pause_ms * 1000);
  }
  return 0;
}
