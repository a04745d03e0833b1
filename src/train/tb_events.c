// tb_events.c: TensorBoard's scalars in TFRecord files, the Event encoded by the protobuf-c code
// generated from tb_event.proto.
#include "train/tb_events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/file_open.h"
#include "train/crc32c.h"
#include "train/tb_event.pb-c.h"

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

// One record: little-endian uint64 length, masked CRC of those 8 bytes, data, masked CRC of data.
static int write_event(TbWriter *w, const Tensorboard__Event *ev) {
  if (!w->f) return -1;
  size_t n = tensorboard__event__get_packed_size(ev);
  unsigned char *buf = xmalloc(n + 16);
  uint64_t len = n;
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(len >> (8 * i));
  put_u32(buf + 8, crc32c_masked(buf, 8));
  tensorboard__event__pack(ev, buf + 12);
  put_u32(buf + 12 + n, crc32c_masked(buf + 12, n));
  int bad = fwrite(buf, 1, n + 16, w->f) != n + 16 || fflush(w->f) != 0;
  free(buf);
  if (bad) {
    snprintf(w->err, sizeof w->err, "%s: %s", w->path, strerror(errno));
    tb_close(w);
    return -1;
  }
  return 0;
}

int tb_open(TbWriter *w, const char *dir, const char *host, double wall_time) {
  memset(w, 0, sizeof *w);
  snprintf(w->path, sizeof w->path, "%s/events.out.tfevents.%lld.%s.%ld", dir, (long long)wall_time,
           host, (long)getpid());
  if (!(w->f = file_fopen_new(w->path, w->err, sizeof w->err))) return -1;  // never through a link
  Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
  ev.wall_time = wall_time;
  ev.what_case = TENSORBOARD__EVENT__WHAT_FILE_VERSION;
  ev.file_version = "brain.Event:2";
  return write_event(w, &ev);
}

int tb_scalar(TbWriter *w, const char *tag, int64_t step, double wall_time, float value) {
  Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
  v.tag = (char *)tag;
  v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
  v.simple_value = value;
  Tensorboard__Summary__Value *vs[1] = {&v};
  Tensorboard__Summary sum = TENSORBOARD__SUMMARY__INIT;
  sum.n_value = 1;
  sum.value = vs;
  Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
  ev.wall_time = wall_time;
  ev.step = step;
  ev.what_case = TENSORBOARD__EVENT__WHAT_SUMMARY;
  ev.summary = &sum;
  return write_event(w, &ev);
}

void tb_close(TbWriter *w) {
  if (w->f) fclose(w->f);
  w->f = NULL;
}
