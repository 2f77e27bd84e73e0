#include <stdio.h>
#include <stdlib.h>
typedef struct tnode { int key; struct tnode *left, *right; } tnode;
static tnode *insert(tnode *t, int k) {
    if (!t) { t = malloc(sizeof *t); t->key = k; t->left = t->right = NULL; return t; }
    if (k < t->key) t->left = insert(t->left, k); else t->right = insert(t->right, k);
    return t;
}
static void destroy(tnode *t) { if (!t) return; destroy(t->left); destroy(t->right); free(t); }
static int count(tnode *t) { return t ? 1 + count(t->left) + count(t->right) : 0; }
/* prune: BUG: detaches the left subtree of the node with key k but never frees it */
static void prune_left(tnode *t, int k) {
    while (t && t->key != k) t = k < t->key ? t->left : t->right;
    if (t) t->left = NULL;
}
int main(void) {
    int keys[] = {50, 30, 70, 20, 40, 60, 80, 10, 25, 35, 45, 65};
    tnode *root = NULL;
    for (unsigned i = 0; i < sizeof keys / sizeof *keys; i++) root = insert(root, keys[i]);
    printf("before=%d\n", count(root));
    prune_left(root, 30);   /* drops 20,10,25 */
    printf("after=%d\n", count(root));
    destroy(root);
    return 0;
}
