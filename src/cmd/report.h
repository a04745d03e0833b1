// report.h: `genet report RUN_DIR [out=FILE]`: one self-contained HTML page about a run's
// output directory (metrics.jsonl as charts, images, text files, the resolved job).
#pragma once

// argv[0] is "report". Returns 0, 1 after a one-line error (a missing directory, a malformed
// metrics.jsonl line, a failed write), or 2 for a bad command line. The page is written to a
// temporary file beside FILE (default RUN_DIR/report.html) and renamed into place.
int report_main(int argc, char **argv);
