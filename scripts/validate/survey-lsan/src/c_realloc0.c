#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void *sink[4];
int main(void) {
    /* realloc(p, 0): C17 implementation-defined; glibc, musl/dlmalloc and ASan all free p and return NULL */
    char *a = malloc(40); memset(a, 1, 40);
    char *r = realloc(a, 0);
    printf("realloc0 -> %s\n", r ? "non-null" : "null");
    free(r);
    /* malloc(0) leaked and malloc(0) kept */
    void *z1 = malloc(0); sink[0] = z1; sink[0] = NULL;   /* leaked */
    sink[1] = malloc(0);                                  /* reachable */
    /* realloc growth that moves, then a shrink, kept in a global */
    char *g = NULL;
    for (int i = 1; i <= 6; i++) { g = realloc(g, i * 100); g[i * 100 - 1] = 0; }
    g = realloc(g, 10);
    sink[2] = g;
    /* reallocarray overflow fails and leaves the old block alone (which is then leaked) */
    int *v = malloc(16);
    int *w = reallocarray(v, (size_t)-1 / 2, 8);
    printf("reallocarray overflow -> %s\n", w ? "non-null" : "null");
    v[0] = 1; sink[3] = v; sink[3] = NULL;                /* leaked: 16 bytes */
    return 0;
}
