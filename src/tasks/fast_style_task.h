// fast_style_task.h: `task = fast_style`: fast neural style (Johnson et al. 2016; pytorch/examples
// fast_neural_style): a TransformerNet trained data-parallel against VGG16's perceptual loss for
// one style image (src/tasks/fast_style_task.c); `genet stylize` runs it (tasks/stylize.h).
#pragma once
#include "train/config.h"
#include "train/trainer.h"

extern const CfgSpec fast_style_task_keys[];
extern const int fast_style_task_nkeys;

extern const TaskOps fast_style_task_ops;
