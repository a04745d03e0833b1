// lm_task.h: `task = lm`: the word-level LSTM language model trained as pytorch/examples'
// word_language_model (SGD, gradient-norm clipping, lr / 4 when validation does not improve,
// hidden state carried across BPTT windows), data-parallel over the batch columns; and
// `genet generate`, which samples text from its checkpoints.
#pragma once
#include "train/config.h"
#include "models/lm_model.h"
#include "train/train.h"

extern const CfgSpec lm_task_keys[];
extern const int lm_task_nkeys;

int lm_task_run(Trainer *t);
// The model settings (emsize, nhid, ...) of a resolved task = lm config.
void lm_config_from(const Config *cfg, int ntoken, LmConfig *c);
// `genet generate CKPT [words=N] [temperature=T] [seed=S] [prompt="..."]` (src/cmd/lm_generate.c).
int lm_generate_main(int argc, char **argv);
