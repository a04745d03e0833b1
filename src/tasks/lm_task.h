// lm_task.h: `task = lm`: the word-level LSTM language model trained as pytorch/examples'
// word_language_model (SGD, gradient-norm clipping, lr / 4 when validation does not improve,
// hidden state carried across BPTT windows), data-parallel over the batch columns; and
// `genet generate`, which samples text from its checkpoints.
#pragma once
#include "train/config.h"
#include "models/lm_model.h"
#include "train/trainer.h"

extern const CfgSpec lm_task_keys[];
extern const int lm_task_nkeys;

extern const TaskOps lm_task_ops;
// The model settings (emsize, nhid, ...) of a resolved task = lm config.
void lm_config_from(const Config *cfg, int ntoken, LmConfig *c);
