// train_cmd.c: `genet train JOB [key=value ...]`: the job resolved in two
// passes (the shared keys find the task, then the task's own table checks every key), and the
// run handed to the trainer (src/train/trainer.c).
#include "cmd/train_cmd.h"

#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "tasks/registry.h"
#include "train/trainer.h"

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
  print_keys(task_shared_keys(), train_nshared_keys);
  for (int i = 0; i < task_registry_n; i++) {
    printf("\ntask = %s:\n", task_registry[i]->name);
    print_keys(task_registry[i]->keys, *task_registry[i]->nkeys);
  }
  return 0;
}

// Resolves the job; returns the task or NULL with err.
static const TaskOps *resolve(Config *cfg, const char *job, int nover, char **over, char *err,
                              size_t errlen) {
  const CfgSpec *const shared[] = {task_shared_keys()};
  const int nshared[] = {train_nshared_keys};
  config_init(cfg, shared, nshared, 1);
  cfg->ignore_unknown = 1;  // first pass: only the task matters
  if (config_load_file(cfg, job, err, errlen) || config_apply_overrides(cfg, nover, over, err, errlen))
    return NULL;
  if (config_check_required(cfg, err, errlen)) {
    char names[512];
    snprintf(err, errlen, "%s: no `task = ...` line (one of %s)", job,
             task_names(names, sizeof names, ", "));
    return NULL;
  }
  const char *name = config_str(cfg, "task");
  const TaskOps *te = task_find(name);
  GENET_ASSERT(te);  // `task` is a choice of the registry's names: the config check refused others
  config_free(cfg);
  const CfgSpec *const both[] = {task_shared_keys(), te->keys};
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
  int rc = ops->run_instead ? ops->run_instead(&t.comm, &t.cfg, argv[1], argc - 2, argv + 2, resolve) : -1;
  if (rc < 0) {  // one Trainer
    trainer_open(&t, argv[1], ops);
    rc = trainer_run(&t, ops);
    trainer_close(&t);
  }
  config_free(&t.cfg);
  comm_finalize(&t.comm);
  return rc;
}
