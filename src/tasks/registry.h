// registry.h: the task registry, the one list of genet's tasks. `genet train --help`, the job
// check (`task = ...`'s choices), the error messages and `genet help` read it; adding a task is
// its own files plus one line in registry.c (docs/ARCHITECTURE.md, "Where to add").
#pragma once
#include <stddef.h>

#include "train/config.h"
#include "train/trainer.h"

extern const TaskOps *const task_registry[];
extern const int task_registry_n;

// The task called name, or NULL.
const TaskOps *task_find(const char *name);
// The tasks' names in registry order joined by sep ("lm|dcgan|style|..." with sep "|"), in buf.
const char *task_names(char *buf, size_t len, const char *sep);
// train_shared_keys (train/trainer.h) with the `task` key's choices set to the registry's
// names: the table every reader of a job resolves with. A static copy, made on first use.
const CfgSpec *task_shared_keys(void);
