#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <stdint.h>
/* a program that brings its own allocator: first-fit free list over a static arena (as small firmware / game code does) */
#define ARENA (1 << 20)
static _Alignas(16) unsigned char arena[ARENA];
typedef struct hdr { size_t size; struct hdr *next; size_t pad[2]; } hdr;
static size_t top;
static hdr *freelist;
void *malloc(size_t n) {
    n = (n + 15) & ~(size_t)15;
    for (hdr **pp = &freelist; *pp; pp = &(*pp)->next)
        if ((*pp)->size >= n) { hdr *h = *pp; *pp = h->next; return h + 1; }
    if (top + sizeof(hdr) + n > ARENA) return NULL;
    hdr *h = (hdr *)(arena + top); h->size = n; top += sizeof(hdr) + n;
    return h + 1;
}
void free(void *p) { if (!p) return; hdr *h = (hdr *)p - 1; h->next = freelist; freelist = h; }
void *calloc(size_t a, size_t b) { void *p = malloc(a * b); if (p) memset(p, 0, a * b); return p; }
void *realloc(void *p, size_t n) {
    if (!p) return malloc(n);
    hdr *h = (hdr *)p - 1; if (h->size >= n) return p;
    void *q = malloc(n); if (!q) return NULL; memcpy(q, p, h->size); free(p); return q;
}
void *aligned_alloc(size_t al, size_t n) { (void)al; return malloc(n); }
int posix_memalign(void **out, size_t al, size_t n) { (void)al; *out = malloc(n); return *out ? 0 : 12; }

typedef struct item { char name[16]; struct item *next; } item;
static item *mk(const char *s) { item *it = malloc(sizeof *it); strncpy(it->name, s, 15); it->name[15] = 0; it->next = NULL; return it; }
int main(void) {
    item *keep = mk("kept");
    for (int i = 0; i < 5; i++) { item *t = mk("temp"); if (i % 2) free(t); else t->next = NULL; }  /* 3 leaked */
    item *a = mk("a"); a->next = mk("b"); a = NULL;                  /* 1 lost + 1 indirect */
    printf("%s\n", keep->name);
    free(keep);
    return 0;
}
