// stylize.h: `genet stylize CKPT IN [OUT] [size=N] [threads=N]`: a fast_style checkpoint's
// TransformerNet on images (src/tasks/stylize.c).
#pragma once

// argv[0] = "stylize". Returns the exit status: 0, 1 (a file), 2 (the command line).
int stylize_main(int argc, char **argv);
