// prepare_cmd.h: `genet prepare KIND ...` (the datasets themselves: src/data/prepare.h).
#pragma once

int prepare_main(int argc, char **argv);  // argv[0] = "prepare"; returns the exit status
