/* Memory read bandwidth: every thread sums its share of a large array, repeated; reports the best pass in GB/s.
   Used by `npm run bench:model` as the floor for weight-streaming decode (bytes read per token / bandwidth). */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  size_t bytes = (argc > 1 ? strtoull(argv[1], 0, 10) : 2048ULL) << 20;
  int passes = argc > 2 ? atoi(argv[2]) : 8;
  size_t n = bytes / sizeof(uint64_t);
  uint64_t *a = aligned_alloc(64, n * sizeof(uint64_t));
  memset(a, 1, n * sizeof(uint64_t));
  double best = 0;
  uint64_t sink = 0;
  for (int p = 0; p < passes; p++) {
    double t0 = omp_get_wtime();
    uint64_t total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
    for (size_t i = 0; i < n; i += 8) total += a[i] + a[i + 1] + a[i + 2] + a[i + 3] + a[i + 4] + a[i + 5] + a[i + 6] + a[i + 7];
    double dt = omp_get_wtime() - t0;
    sink += total;
    double gbs = bytes / dt / 1e9;
    if (gbs > best) best = gbs;
  }
  printf("%.2f %d %llu\n", best, omp_get_max_threads(), (unsigned long long)(sink & 1));
  return 0;
}
