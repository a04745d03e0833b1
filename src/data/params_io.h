// params_io.h: a Params buffer to and from an HDF5 group, one dataset per tensor under its
// state_dict name and PyTorch shape (GROUP/encoder.weight, ...), as h5py users expect. The
// same for any float buffer laid out like the parameters (optimizer moments).
#pragma once
#include <stddef.h>

#include "data/h5io.h"
#include "core/params.h"

// buf is laid out as p and lives where p's parameters live (p->ctx: on a GPU the data goes
// through a host copy).
// Writes each tensor of buf as GROUP/<name>. Returns 0 or -1.
int params_write(H5File *f, const Params *p, const float *buf, const char *group);
// Reads GROUP/<name> of every tensor into buf. Returns 0; -2 with err naming the first tensor
// whose shape or presence does not match the model (the checkpoint belongs to another job);
// -1 with err when the file cannot be read (damaged).
int params_read(H5File *f, const Params *p, float *buf, const char *group, char *err,
                size_t errlen);
