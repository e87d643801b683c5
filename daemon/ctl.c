/* ctl.c: shokaictl, the operator's tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shokaid.h"

int
main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 0;
}
