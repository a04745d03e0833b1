// registry.c: the task registry (registry.h). One line per task.
#include "tasks/registry.h"

#include <string.h>

#include "core/util.h"
#include "tasks/dcgan_task.h"
#include "tasks/lm_task.h"
#include "tasks/fast_style_task.h"
#include "tasks/style_task.h"

const TaskOps *const task_registry[] = {&lm_task_ops, &dcgan_task_ops, &style_task_ops,
                                           &fast_style_task_ops};
const int task_registry_n = sizeof task_registry / sizeof *task_registry;

const TaskOps *task_find(const char *name) {
  for (int i = 0; name && i < task_registry_n; i++)
    if (!strcmp(task_registry[i]->name, name)) return task_registry[i];
  return NULL;
}

const char *task_names(char *buf, size_t len, const char *sep) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < task_registry_n && k < len; i++)
    k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? sep : "", task_registry[i]->name);
  GENET_ASSERT(k < len);
  return buf;
}

#define SHARED_MAX 64
const CfgSpec *task_shared_keys(void) {
  static CfgSpec keys[SHARED_MAX];
  static char choices[512];
  if (!choices[0]) {
    GENET_ASSERT(train_nshared_keys <= SHARED_MAX);
    memcpy(keys, train_shared_keys, sizeof(CfgSpec) * (size_t)train_nshared_keys);
    task_names(choices, sizeof choices, "|");
    int found = 0;
    for (int i = 0; i < train_nshared_keys; i++)
      if (!strcmp(keys[i].key, "task")) keys[i].choices = choices, found = 1;
    GENET_ASSERT(found);
  }
  return keys;
}
