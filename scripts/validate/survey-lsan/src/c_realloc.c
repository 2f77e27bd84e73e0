#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct { char *data; size_t len, cap; } sbuf;
static int sbuf_append(sbuf *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 8;
        while (nc < b->len + n + 1) nc *= 2;
        char *p = realloc(b->data, nc);
        if (!p) return -1;
        b->data = p; b->cap = nc;
    }
    memcpy(b->data + b->len, s, n + 1); b->len += n;
    return 0;
}
/* returns a malloc'd string, or NULL on a bad token; BUG: buffer leaks on the error path */
char *render(const char **toks, int n) {
    sbuf b = {0};
    for (int i = 0; i < n; i++) {
        if (toks[i][0] == '!') return NULL;
        if (sbuf_append(&b, toks[i])) { free(b.data); return NULL; }
    }
    return b.data;
}
int main(void) {
    const char *good[] = {"hello", " ", "world", " this is a longer token"};
    const char *bad[] = {"abc", "defghijklmnop", "!oops"};
    char *s = render(good, 4);
    printf("%s\n", s); free(s);
    char *t = render(bad, 3);
    printf("%s\n", t ? t : "(error)");
    return 0;
}
