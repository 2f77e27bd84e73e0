// Test input for wasmleak-symbolize (see build.sh). Line numbers are asserted by the tests: keep them.
#include <stdlib.h>

static inline __attribute__((always_inline)) void *alloc_node(int n) {
    return malloc(n * 16);
}

__attribute__((noinline)) void *build(int n) {
    void *node = alloc_node(n);
    return node;
}

int main(int argc, char **argv) {
    (void)argv;
    return build(argc) != 0;
}
