/* bad_flood: prints without end: the console limit stops it (exit 3). */
#include "console.h"

int main(void)
{
    for (unsigned long n = 0;; n++)
        printf("bad_flood: line %lu of a console flood ..................................\n", n);
    return 1;
}
