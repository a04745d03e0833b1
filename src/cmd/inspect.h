// inspect.h: `genet inspect FILE.h5`: what a checkpoint or dataset holds.
#pragma once

// Prints every group and dataset with its type and shape, and short strings and scalars in
// full. Returns 0, or 1 after a one-line error when the file is not readable HDF5.
int inspect_main(const char *path);
