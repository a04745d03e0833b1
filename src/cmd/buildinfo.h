// buildinfo.h: what `genet version` and `genet info` print.
#pragma once
#include <stdio.h>

void buildinfo_print_version(FILE *f);
void buildinfo_print_info(FILE *f);
