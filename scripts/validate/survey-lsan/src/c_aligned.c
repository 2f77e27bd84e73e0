#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
struct vec4 { float x, y, z, w; };
void *keep[4];
int work(void) {
    int *counts = calloc(100, sizeof(int));            /* leaked: 400 bytes */
    struct vec4 *v = aligned_alloc(64, 64 * sizeof(struct vec4)); /* leaked: 1024 bytes */
    void *pm = NULL;
    if (posix_memalign(&pm, 128, 300)) return -1;       /* leaked: 300 bytes */
    void *ok = NULL;
    if (posix_memalign(&ok, 32, 50)) return -1;         /* freed */
    char *z = calloc(3, 7);                              /* reachable via keep */
    keep[0] = z;
    for (int i = 0; i < 100; i++) counts[i] = i;
    for (int i = 0; i < 64; i++) v[i].x = (float)i;
    memset(pm, 1, 300);
    int r = counts[99] + (int)v[63].x + ((unsigned char *)pm)[299] + ((((unsigned long)v) & 63) == 0) + ((((unsigned long)pm) & 127) == 0);
    free(ok);
    return r;
}
int main(void) {
    printf("r=%d\n", work());
    return 0;
}
