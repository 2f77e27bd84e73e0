#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct { int refcount; int len; char data[]; } rcstr;
static char *g_mid;      /* points into the middle of a block: still reachable for LSan */
static char *g_end;      /* points one past the end of a block: not a pointer into it */
static char *mk(const char *s) { size_t n = strlen(s); rcstr *r = malloc(sizeof *r + n + 1); r->refcount = 1; r->len = (int)n; memcpy(r->data, s, n + 1); return r->data; }
int main(void) {
    g_mid = mk("string handed out as a pointer to its chars");   /* reachable (interior) */
    char *buf = malloc(32); memset(buf, 'a', 32);
    g_end = buf + 32;                                              /* LSan: leaked (end pointer does not count) */
    printf("%s %c\n", g_mid, g_end[-1]);
    buf = NULL;
    return 0;
}
