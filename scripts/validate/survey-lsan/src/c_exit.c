#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* a program that bails out with exit() from deep inside while owning heap memory in locals */
static void die(const char *msg, int code) { fprintf(stderr, "%s\n", msg); exit(code); }
static int parse(const char *text) {
    char *copy = strdup(text);          /* live in a local at exit: LSan treats it as reachable (stack) */
    int *vals = malloc(64 * sizeof(int));
    int n = 0;
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        vals[n++] = atoi(tok);
        if (vals[n - 1] < 0) die("negative value, giving up", 0);
    }
    int s = 0; for (int i = 0; i < n; i++) s += vals[i];
    free(vals); free(copy);
    return s;
}
int main(void) {
    printf("%d\n", parse("1,2,3"));
    fflush(stdout);
    printf("%d\n", parse("4,5,-6,7"));
    return 0;
}
