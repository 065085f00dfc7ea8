/* exchange/main.c: peerwatt-exchange entry point (placeholder until its issue lands). */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("peerwatt-exchange %s\n", PW_VERSION);
		return 0;
	}
	fprintf(stderr, "peerwatt-exchange: not built yet\n");
	return 69;
}
