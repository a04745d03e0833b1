// dcgan_task.h: `task = dcgan`: the seed's DCGAN (pytorch/examples dcgan) trained
// data-parallel, sample grids written as PNG (src/tasks/dcgan_task.c).
#pragma once
#include "train/config.h"
#include "train/trainer.h"

extern const CfgSpec dcgan_task_keys[];
extern const int dcgan_task_nkeys;

extern const TaskOps dcgan_task_ops;
