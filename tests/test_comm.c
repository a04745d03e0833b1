// test_comm.c: the communicator, run single-process by ctest and under mpirun with 4 ranks.
// Every value is checked against its closed form (sums of rank-dependent fills).
// `test_comm --abort-on-rank R` makes rank R fail mid-run, `test_comm --stall-rank R` makes
// rank R stop taking part (a 60 s sleep) while the others wait with a 1 s collective timeout
// (tests/test_comm_abort.sh).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "testlib.h"

int main(int argc, char **argv) {
  Comm c;
  comm_init(&c, &argc, &argv);
  if (argc == 3 && !strcmp(argv[1], "--abort-on-rank")) {
    int bad = atoi(argv[2]);
    if (c.rank == bad) comm_abort(&c, "planted failure on this rank (bad input)");
    float x = 1;
    for (;;) comm_allreduce_sum(&c, &x, 1);  // the others wait here until the abort ends them
  }
  if (argc == 3 && !strcmp(argv[1], "--stall-rank")) {
    comm_set_timeout(&c, 1.0);
    comm_barrier(&c);  // all arrive once: the timeout counts from here
    if (c.rank == atoi(argv[2])) sleep(60);
    float x = 1;
    comm_allreduce_sum(&c, &x, 1);  // the others give up here after 1 s
    comm_finalize(&c);
    return 0;
  }
  const int w = c.size, r = c.rank;
  const size_t n = 100003;  // odd, not a multiple of anything
  float *buf = malloc(n * sizeof(float));
  int bad = 0;

  for (size_t i = 0; i < n; i++) buf[i] = (float)(r + 1) * (float)(i % 97);
  comm_allreduce_sum(&c, buf, n);
  // sum over ranks of (r+1) = w(w+1)/2
  for (size_t i = 0; i < n; i++) bad += buf[i] != (float)(w * (w + 1) / 2) * (float)(i % 97);
  int b1 = bad;

  for (size_t i = 0; i < n; i++) buf[i] = (float)(r + 1);
  comm_allreduce_mean(&c, buf, n);
  for (size_t i = 0; i < n; i++) bad += fabsf(buf[i] - (float)(w + 1) / 2.0f) > 1e-6f;
  int b2 = bad - b1;

  CommRequest req;
  for (size_t i = 0; i < n; i++) buf[i] = (float)r;
  comm_iallreduce(&c, buf, n, 1, &req);
  comm_wait(&c, &req);
  for (size_t i = 0; i < n; i++) bad += fabsf(buf[i] - (float)(w - 1) / 2.0f) > 1e-6f;
  int b3 = bad - b1 - b2;

  char msg[32] = "";
  if (r == 0) snprintf(msg, sizeof msg, "from rank zero");
  comm_bcast(&c, msg, sizeof msg, 0);
  int b4 = strcmp(msg, "from rank zero") != 0;

  double s = comm_sum_double(&c, (double)r);
  int b5 = s != (double)w * (w - 1) / 2;
  comm_barrier(&c);

  // Every rank's result counts: the failures of all ranks are summed.
  double fails[5] = {b1, b2, b3, b4, b5};
  for (int k = 0; k < 5; k++) fails[k] = comm_sum_double(&c, fails[k]);
  if (r == 0) {
    printf("world of %d (%s), local rank %d of %d\n", w, c.kind == COMM_MPI ? "MPI" : "single",
           c.local_rank, c.local_size);
    test_check(fails[0] == 0, "allreduce sum of %zu floats on %d ranks", n, w);
    test_check(fails[1] == 0, "allreduce mean");
    test_check(fails[2] == 0, "non-blocking allreduce mean");
    test_check(fails[3] == 0, "broadcast from rank 0");
    test_check(fails[4] == 0, "sum of a double over ranks = %g", s);
    test_check(c.local_size == w && c.local_rank == r, "one node: local rank = rank");
  }
  free(buf);
  int rc = r == 0 ? test_finish("comm") : 0;
  rc = (int)comm_sum_double(&c, rc);
  comm_finalize(&c);
  return rc ? 1 : 0;
}
