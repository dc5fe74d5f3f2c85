/* Runs the plain-C header check against the real library. */
#include <stdio.h>

int swarmpod_header_check(void);

int main(void) {
    int failed_step = swarmpod_header_check();
    if (failed_step != 0) {
        fprintf(stderr, "C header check failed at step %d\n", failed_step);
        return 1;
    }
    printf("C header check passed\n");
    return 0;
}
