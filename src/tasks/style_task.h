// style_task.h: `task = style`: neural style transfer (Gatys et al., the seed's L-BFGS loop on
// the image's pixels through VGG19's features), src/tasks/style_task.c.
#pragma once
#include "train/config.h"
#include "train/trainer.h"

extern const CfgSpec style_task_keys[];
extern const int style_task_nkeys;

extern const TaskOps style_task_ops;
