// train_cmd.c: `genet train JOB [key=value ...]`: the task registry, the job resolved in two
// passes (the shared keys find the task, then the task's own table checks every key), and the
// run handed to the trainer (src/train/trainer.c).
#include "cmd/train_cmd.h"

#include <stdio.h>
#include <string.h>

#include "cmd/style_pairs.h"
#include "core/util.h"
#include "tasks/dcgan_task.h"
#include "tasks/lm_task.h"
#include "tasks/style_task.h"
#include "train/trainer.h"

static const TaskOps *const tasks[] = {&lm_task_ops, &dcgan_task_ops, &style_task_ops};

static int usage(void) {
  fprintf(stderr, "genet: usage: genet train JOB [key=value ...]   (genet train --help lists the keys)\n");
  return 2;
}

static void print_keys(const CfgSpec *k, int n) {
  for (int i = 0; i < n; i++) {
    printf("  %-18s %s", k[i].key, k[i].help);
    if (k[i].choices) printf(" (%s)", k[i].choices);
    if (!k[i].def) printf("; required\n");
    else printf("; default %s\n", k[i].def[0] ? k[i].def : "empty");
  }
}

static int help(void) {
  printf("usage: genet train JOB [key=value ...]\n\nThe job file holds `key = value` lines; "
         "key=value arguments override it.\n\nkeys of every task:\n");
  print_keys(train_shared_keys, train_nshared_keys);
  for (size_t i = 0; i < sizeof tasks / sizeof *tasks; i++) {
    printf("\ntask = %s:\n", tasks[i]->name);
    print_keys(tasks[i]->keys, *tasks[i]->nkeys);
  }
  return 0;
}

// Resolves the job; returns the task or NULL with err.
static const TaskOps *resolve(Config *cfg, const char *job, int nover, char **over, char *err,
                              size_t errlen) {
  const CfgSpec *const shared[] = {train_shared_keys};
  const int nshared[] = {train_nshared_keys};
  config_init(cfg, shared, nshared, 1);
  cfg->ignore_unknown = 1;  // first pass: only the task matters
  if (config_load_file(cfg, job, err, errlen) || config_apply_overrides(cfg, nover, over, err, errlen))
    return NULL;
  if (config_check_required(cfg, err, errlen)) {
    snprintf(err, errlen, "%s: no `task = ...` line (one of lm, dcgan, style)", job);
    return NULL;
  }
  const char *name = config_str(cfg, "task");
  const TaskOps *te = NULL;
  for (size_t i = 0; i < sizeof tasks / sizeof *tasks; i++)
    if (!strcmp(tasks[i]->name, name)) te = tasks[i];
  GENET_ASSERT(te);  // `task` is a choice of the registry's names: the config check refused others
  config_free(cfg);
  const CfgSpec *const both[] = {train_shared_keys, te->keys};
  const int nboth[] = {train_nshared_keys, *te->nkeys};
  config_init(cfg, both, nboth, 2);
  if (config_load_file(cfg, job, err, errlen) || config_apply_overrides(cfg, nover, over, err, errlen) ||
      config_check_required(cfg, err, errlen))
    return NULL;
  return te;
}

int train_main(int argc, char **argv) {
  // argv[0] = "train"
  if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) return help();
  if (argc < 2 || argv[1][0] == '-') return usage();
  trainer_block_stop_signals();  // before MPI's and OpenMP's threads exist, so they inherit it
  Trainer t;
  memset(&t, 0, sizeof t);
  comm_init(&t.comm, &argc, &argv);
  char err[GENET_ERR_MAX];
  const TaskOps *ops = resolve(&t.cfg, argv[1], argc - 2, argv + 2, err, sizeof err);
  if (!ops) {
    if (t.comm.rank == 0) fprintf(stderr, "genet: %s\n", err);
    config_free(&t.cfg);
    comm_finalize(&t.comm);
    return 2;
  }
  if (ops == &style_task_ops && config_str(&t.cfg, "pairs")[0]) {  // many pairs over the ranks
    int rc = style_pairs_main(&t.comm, &t.cfg, argv[1], argc - 2, argv + 2, resolve);
    config_free(&t.cfg);
    comm_finalize(&t.comm);
    return rc;
  }
  trainer_open(&t, argv[1], ops);
  int rc = trainer_run(&t, ops);
  trainer_close(&t);
  config_free(&t.cfg);
  comm_finalize(&t.comm);
  return rc;
}
