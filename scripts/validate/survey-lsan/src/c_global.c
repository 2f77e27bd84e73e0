#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct { char name[24]; int *history; int n; } config;
static config *current;          /* overwritten on reload: old one leaks */
static config *load_config(const char *name, int n) {
    config *c = malloc(sizeof *c);
    strncpy(c->name, name, sizeof c->name - 1); c->name[sizeof c->name - 1] = 0;
    c->history = malloc(n * sizeof(int)); c->n = n;
    for (int i = 0; i < n; i++) c->history[i] = i;
    return c;
}
void reload(const char *name, int n) { current = load_config(name, n); }
int main(void) {
    reload("first", 10);
    reload("second", 20);
    reload("third", 30);   /* current still points at this one at exit: reachable */
    printf("%s %d\n", current->name, current->history[current->n - 1]);
    return 0;
}
