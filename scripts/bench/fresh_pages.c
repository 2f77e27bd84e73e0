/* What a fresh page costs: maps MB mebibytes, optionally advised as transparent huge pages, and writes one byte in
 * every 4 KiB page; prints the time. BENCHMARKS.md, session 25: run it back to back and after a pause of more than
 * 2 s (this project's VM gives free 2 MiB blocks back to its host then, and their first touch faults in the host).
 *
 *   cc -O2 scripts/bench/fresh_pages.c -o /tmp/fresh_pages
 *   for i in 1 2 3; do sleep 3; /tmp/fresh_pages 100 huge; sleep 3; /tmp/fresh_pages 100 small; done
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[2], "huge") && strcmp(argv[2], "small"))) {
        fprintf(stderr, "usage: fresh_pages MB huge|small\n");
        return 2;
    }
    size_t n = (size_t)atoi(argv[1]) << 20, huge = 2 << 20;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    char *p = mmap(0, n + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    p = (char *)(((size_t)p + huge - 1) & ~(huge - 1));
    if (!strcmp(argv[2], "huge"))
        madvise(p, n, MADV_HUGEPAGE);
    for (size_t i = 0; i < n; i += 4096)
        p[i] = 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%zu MiB, %s pages: %.1f ms\n", n >> 20, argv[2], (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
    return 0;
}
