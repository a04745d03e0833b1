// style_pairs.h: `task = style` with `pairs = FILE`: many (content, style) pairs over the ranks
// of one job (mpirun, srun), src/tasks/style_pairs.c. Each line of FILE is one pair,
//     CONTENT STYLE[,STYLE...] [OUTPUT]
// fields separated by blanks ('#' starts a comment line; an empty line is an error). Pair k (the
// k-th pair line, from 1) runs as its own single-process style job with content, style,
// checkpoint_dir = CKPT/pair_<k> and out_dir = OUT/pair_<k> (CKPT, OUT the job's), the other
// keys the job's; rank r takes the pairs with (k - 1) mod world = r, one after another. A pair
// that finished leaves CKPT/pair_<k>/pair.done and is skipped by a later run of the job, which
// resumes the unfinished ones from their checkpoints. OUTPUT (relative to OUT, default
// pair_<k>/result.png) receives a copy of the pair's result. When every pair is done, rank 0
// writes OUT/index.html, the page of all results. A pair's output depends on its line, the job
// and `threads` alone, not on the rank, the world size or a resume.
#pragma once
#include <stddef.h>

#include "comm/comm.h"
#include "train/config.h"
#include "train/trainer.h"

// Runs the pairs of the resolved job cfg (pairs = FILE set) on this rank. Every rank checks the
// whole file first: a bad line (missing image, empty line, duplicate output, a style count that
// style_blend does not match) is one line "FILE:LINE: ..." from rank 0, exit 2, before any work.
// Returns the process's exit status: 0, GENET_EXIT_STOPPED (a signal stopped a pair), 2.
int style_pairs_main(Comm *comm, const Config *cfg, const char *job, int nover, char **over,
                     TaskResolve resolve);
