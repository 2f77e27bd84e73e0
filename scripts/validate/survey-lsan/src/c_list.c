#include <stdio.h>
#include <stdlib.h>
typedef struct node { int value; struct node *next; } node;
typedef struct { node *head; int len; } list;
static node *node_new(int v) {            /* line 5 */
    node *n = malloc(sizeof *n);
    n->value = v; n->next = NULL;
    return n;
}
static void list_push(list *l, int v) { node *n = node_new(v); n->next = l->head; l->head = n; l->len++; }
/* BUG: unlinks the node but forgets to free it */
static int list_remove(list *l, int v) {
    for (node **pp = &l->head; *pp; pp = &(*pp)->next) {
        if ((*pp)->value == v) { *pp = (*pp)->next; l->len--; return 1; }
    }
    return 0;
}
static void list_free(list *l) { node *n = l->head; while (n) { node *nx = n->next; free(n); n = nx; } l->head = NULL; }
int main(void) {
    list l = {0};
    for (int i = 0; i < 10; i++) list_push(&l, i);
    list_remove(&l, 3);
    list_remove(&l, 7);
    long sum = 0; for (node *n = l.head; n; n = n->next) sum += n->value;
    printf("len=%d sum=%ld\n", l.len, sum);
    list_free(&l);
    return 0;
}
