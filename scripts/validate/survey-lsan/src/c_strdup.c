#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static char *names[16];
static const char *words[] = {"alpha","beta","gamma","delta","epsilon","zeta","eta","theta"};
void load(void) {
    for (int i = 0; i < 8; i++) {
        char *s = strdup(words[i]);
        if (strlen(s) > 4) names[i] = s;   /* BUG: short words are dropped without free */
    }
}
char *join(void) {
    char *out = strdup("");
    for (int i = 0; i < 8; i++) if (names[i]) {
        char *tmp = malloc(strlen(out) + strlen(names[i]) + 2);
        sprintf(tmp, "%s,%s", out, names[i]);
        free(out); out = tmp;
    }
    return out;
}
int main(void) {
    load();
    char *j = join();
    printf("%s\n", j);
    free(j);
    for (int i = 0; i < 8; i++) { free(names[i]); names[i] = NULL; }
    return 0;
}
