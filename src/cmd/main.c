// main.c: the `genet` command: parses the subcommand and hands over.
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd/buildinfo.h"
#include "data/h5io.h"
#include "cmd/inspect.h"
#include "tasks/dcgan_sample.h"
#include "tasks/lm_generate.h"
#include "cmd/prepare_cmd.h"
#include "cmd/report.h"
#include "cmd/train_cmd.h"
#include "tasks/registry.h"
#include "tasks/stylize.h"
#include "train/trainer.h"

// The usage text is printed in two parts around the task names (tasks/registry.h).
static const char *usage =
    "usage: genet <command> [args]\n"
    "\n"
    "commands:\n"
    "  version    genet's version and commit, and the libraries built in\n"
    "  info       the CPU threads and GPUs genet can use\n"
    "  train JOB [key=value ...]\n"
    "             train the job's task (";
static const char *usage_rest =
    "); resumes from its checkpoints (genet train --help)\n"
    "  generate CKPT.h5 [words=N] [temperature=T] [seed=S] [prompt=\"...\"]\n"
    "             sample text from a language-model checkpoint\n"
    "  sample CKPT.h5 [n=64] [seed=S] [out=samples.png] [interpolate=true]\n"
    "             a grid of images from a DCGAN checkpoint's generator (evaluation mode), or\n"
    "             rows of linear interpolations between latent vectors (n = k*k)\n"
    "  stylize CKPT IN [OUT] [size=N] [threads=N]\n"
    "             a fast_style checkpoint's network on an image, a directory or a comma-separated\n"
    "             list of images (any size); prints the milliseconds per image\n"
    "  prepare KIND ...\n"
    "             datasets into HDF5: text, cifar10, images, synthetic-text, synthetic-images\n"
    "  inspect FILE.h5\n"
    "             list what a checkpoint or dataset holds\n"
    "  report RUN_DIR [out=FILE]\n"
    "             one self-contained HTML page of a run's out_dir: metrics, images, text, job\n"
    "  help       this text (also --help, -h)\n"
    "\n"
    "Run data-parallel with mpirun -np N genet train JOB (one rank per GPU or CPU socket).\n";

static void print_usage(FILE *f) {
  char names[512];
  fputs(usage, f);
  fputs(task_names(names, sizeof names, ", "), f);
  fputs(usage_rest, f);
}

int main(int argc, char **argv) {
  h5_no_atexit();
  // A file-size limit (ulimit -f) then fails the write with EFBIG, which genet reports and
  // cleans up after, instead of killing the process in the middle of a checkpoint.
  signal(SIGXFSZ, SIG_IGN);
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    print_usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    if (argc > 2) {
      fprintf(stderr, "genet: version takes no arguments (got '%s')\n", argv[2]);
      return 2;
    }
    buildinfo_print_version(stdout);
    return 0;
  }
  if (!strcmp(cmd, "info")) {
    if (argc > 2) {
      fprintf(stderr, "genet: info takes no arguments (got '%s')\n", argv[2]);
      return 2;
    }
    buildinfo_print_info(stdout);
    return 0;
  }
  if (!strcmp(cmd, "prepare")) return prepare_main(argc - 1, argv + 1);
  if (!strcmp(cmd, "train")) return train_main(argc - 1, argv + 1);
  if (!strcmp(cmd, "generate")) return lm_generate_main(argc - 1, argv + 1);
  if (!strcmp(cmd, "sample")) return dcgan_sample_main(argc - 1, argv + 1);
  if (!strcmp(cmd, "stylize")) return stylize_main(argc - 1, argv + 1);
  if (!strcmp(cmd, "inspect")) {
    if (argc != 3) {
      fprintf(stderr, "genet: usage: genet inspect FILE.h5\n");
      return 2;
    }
    return inspect_main(argv[2]);
  }
  if (!strcmp(cmd, "report")) return report_main(argc - 1, argv + 1);
  if (cmd[0] == '-')
    fprintf(stderr, "genet: unknown option '%s' (try genet --help)\n", cmd);
  else
    fprintf(stderr, "genet: unknown command '%s' (try genet --help)\n", cmd);
  return 2;
}
