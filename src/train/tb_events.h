// tb_events.h: a TensorBoard event file of scalars, as PyTorch's SummaryWriter writes it:
// out_dir/events.out.tfevents.<unix time>.<host>.<pid>, one per process, TFRecord framing
// (length, masked CRC-32C of the length, the Event, masked CRC-32C of the Event), the first
// Event saying file_version "brain.Event:2". `tensorboard --logdir DIR` reads it.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "core/util.h"

typedef struct {
  FILE *f;                     // NULL: not open, or given up after a failed write
  char path[GENET_PATH_MAX];
  char err[GENET_ERR_MAX];     // why the last call failed
} TbWriter;

// Creates the file in dir (which exists) and writes its first Event. 0, or -1 with w->err.
int tb_open(TbWriter *w, const char *dir, const char *host, double wall_time);
// One Event of one scalar, flushed. 0, or -1 with w->err (the file is then closed).
int tb_scalar(TbWriter *w, const char *tag, int64_t step, double wall_time, float value);
void tb_close(TbWriter *w);
