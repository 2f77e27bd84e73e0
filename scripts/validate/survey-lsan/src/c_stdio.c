#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    char *msg = NULL;
    int n = asprintf(&msg, "value=%d name=%s", 42, "answer");   /* leaked */
    char *buf = NULL; size_t sz = 0;
    FILE *ms = open_memstream(&buf, &sz);                          /* buffer freed, FILE closed */
    for (int i = 0; i < 100; i++) fprintf(ms, "line %d\n", i);
    fclose(ms);
    const char text[] = "first line\nsecond line\nthird\n";
    FILE *in = fmemopen((void *)text, sizeof text - 1, "r");
    char *line = NULL; size_t cap = 0; long total = 0;
    while (getline(&line, &cap, in) > 0) total += strlen(line);
    fclose(in);                                                     /* BUG: line not freed */
    char *line2 = NULL; size_t cap2 = 0;
    FILE *in2 = fmemopen((void *)text, sizeof text - 1, "r");       /* BUG: never closed */
    getline(&line2, &cap2, in2);
    free(line2);
    printf("%d %zu %ld %s\n", n, sz, total, msg);
    msg = NULL; line = NULL; in2 = NULL;
    free(buf);
    return 0;
}
