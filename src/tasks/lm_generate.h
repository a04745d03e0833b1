// lm_generate.h: the language model's sampling, `genet generate CKPT [words=N] [temperature=T]
// [seed=S] [prompt="..."]`: text from a task = lm checkpoint, whose job gives the model's
// shape (lm_config_from) and whose vocab the words.
#pragma once

int lm_generate_main(int argc, char **argv);  // argv[0] = "generate"; returns the exit status
