// lm_generate.h: `genet generate CKPT [words=N] [temperature=T] [seed=S] [prompt="..."]`: text
// sampled from a language-model checkpoint (task = lm).
#pragma once

int lm_generate_main(int argc, char **argv);  // argv[0] = "generate"; returns the exit status
