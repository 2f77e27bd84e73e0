// Test input for wasmleak-symbolize (see build.sh). Line numbers are asserted by the tests: keep them.
#include <stdlib.h>

__attribute__((export_name("make_buffer")))
int *make_buffer(int n) {
    int *p = malloc(n * sizeof(int));
    return p;
}

int main(void) {
    int *p = make_buffer(4);
    p[0] = 1;
    return 0;
}
