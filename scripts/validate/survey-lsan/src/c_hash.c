#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct entry { char *key; int val; struct entry *next; } entry;
typedef struct { entry **buckets; unsigned nbuckets; unsigned count; } table;
static unsigned hash(const char *s) { unsigned h = 5381; while (*s) h = h * 33 + (unsigned char)*s++; return h; }
table *table_new(unsigned n) {
    table *t = malloc(sizeof *t);
    t->buckets = calloc(n, sizeof(entry *));
    t->nbuckets = n; t->count = 0;
    return t;
}
void table_put(table *t, const char *k, int v) {
    unsigned b = hash(k) % t->nbuckets;
    for (entry *e = t->buckets[b]; e; e = e->next) if (!strcmp(e->key, k)) { e->val = v; return; }
    entry *e = malloc(sizeof *e);
    e->key = strdup(k); e->val = v; e->next = t->buckets[b]; t->buckets[b] = e; t->count++;
}
int table_get(table *t, const char *k) {
    for (entry *e = t->buckets[hash(k) % t->nbuckets]; e; e = e->next) if (!strcmp(e->key, k)) return e->val;
    return -1;
}
/* BUG: frees the bucket array and the table but not the entries */
void table_free(table *t) { free(t->buckets); free(t); }
int main(void) {
    table *t = table_new(4);
    char buf[32];
    for (int i = 0; i < 9; i++) { snprintf(buf, sizeof buf, "key-%d", i); table_put(t, buf, i * i); }
    table_put(t, "key-2", 100);
    int nonempty = 0; for (unsigned i = 0; i < t->nbuckets; i++) nonempty += t->buckets[i] != NULL;
    printf("count=%u get=%d nonempty=%d\n", t->count, table_get(t, "key-2"), nonempty);
    table_free(t);
    return 0;
}
