#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* the classic "main ends with exit(0)" style: buffers still owned by main's locals */
int main(int argc, char **argv) {
    char *line = malloc(256);
    int *hist = calloc(26, sizeof(int));
    strcpy(line, argc > 5 ? argv[1] : "the quick brown fox jumps over the lazy dog");
    for (char *p = line; *p; p++) if (*p >= 'a' && *p <= 'z') hist[*p - 'a']++;
    int distinct = 0; for (int i = 0; i < 26; i++) distinct += hist[i] > 0;
    printf("distinct=%d\n", distinct);
    fflush(stdout);
    exit(0);
}
