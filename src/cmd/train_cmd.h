// train_cmd.h: `genet train JOB [key=value ...]` (genet train --help lists the keys).
#pragma once

int train_main(int argc, char **argv);  // argv[0] = "train"; returns the exit status
