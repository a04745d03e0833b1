#!/usr/bin/python3
"""The table of scripts/bench/all.sh from the `result` lines it collected, one a line:
    SIDE RUN NAME ms MEAN [median M min A max B] n N rss_mb R threads T [omp O]
    SIDE RUN NAME failed WHY
Each cell: the median over the runs of each run's figure (that process's mean over its timed
steps), with the spread (min-max) over the runs. Ratios: genet's median / the PyTorch side's
median (below 1: genet faster), with the spread of the per-run ratios (genet's run r against
that side's run r). The anchor is the faster PyTorch 2.x variant (eager or torch.compile) by
median. Peak RSS: the largest over the runs, MB (getrusage / GNU time's %M).
Usage: all_report.py RESULTS THREADS QUICK GENET_ISA TORCH113_ISA TORCH2_ISA"""
import statistics
import sys

SIDES = ["genet", "torch1.13", "torch2", "torch2-compile"]
NAMES = {"torch1.13": "PyTorch 1.13", "torch2": "PyTorch 2.x eager", "torch2-compile": "PyTorch 2.x compile"}
BENCH = [("lm_step", "LM step, vocab 33,278, batch 20, BPTT 35", "ms"),
         ("dcgan_iter", "DCGAN iteration, batch 64, 64x64, ngf = ndf = 64", "ms"),
         ("style_eval", "style evaluation, 512 px, VGG19 full widths", "ms"),
         ("fast_style_train", "fast style training step, 256 px, batch 4", "ms"),
         ("fast_style_stylize", "fast style stylize, 512 x 512", "ms"),
         ("lm_demo", "LM demo job run whole (lm_demo.job, 6 epochs)", "s"),
         ("style_demo", "style demo job run whole (style_demo.job, 192 px, 200 evaluations)", "s"),
         ("dcgan_demo", "DCGAN demo job run whole (dcgan_demo.job, --demo-epochs)", "s"),
         ("make_demo", "make demo's three workloads whole (scripts/demo.sh, genet only)", "s")]
QUICK = {"style_eval": "style evaluation, --tiny: 64 px, VGG19 widths / 16",
         "fast_style_train": "fast style training step, 64 px, batch 4",
         "fast_style_stylize": "fast style stylize, 128 x 128",
         "lm_demo": "LM demo job, 1 epoch",
         "style_demo": "style demo job, 20 evaluations",
         "dcgan_demo": "DCGAN demo job, 1 epoch",
         "make_demo": "make demo, DEMO_QUICK=1, genet only"}


def parse(path):
    res = {}  # (name, side) -> {run: dict or str}
    for line in open(path):
        f = line.split()
        if len(f) < 4:
            continue
        side, run, name = f[0], int(f[1]), f[2]
        if f[3] == "failed":
            res.setdefault((name, side), {})[run] = " ".join(f[4:]) or "failed"
            continue
        kv = dict(zip(f[3::2], f[4::2]))
        res.setdefault((name, side), {})[run] = {k: float(v) if v.replace(".", "", 1).isdigit() else v
                                                 for k, v in kv.items()}
    return res


def fr(r):
    """A ratio: 2 decimals, 2 significant digits below 0.1 (0.0048, not 0.00)."""
    return f"{r:.2f}" if r >= 0.1 else f"{r:.2g}"


def fmt(v, unit):
    if unit == "s":
        v /= 1000.0
    return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"


def main():
    path, threads, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    isa = dict(zip(["genet", "torch1.13", "torch2"], sys.argv[4:7]))
    res = parse(path)
    head = ["benchmark", "genet", "PyTorch 1.13", "PyTorch 2.x eager", "PyTorch 2.x compile",
            "genet / faster 2.x", "genet / 1.13", "peak RSS MB (genet, 1.13, 2.x, compile)",
            "RSS genet / faster 2.x", "threads (genet, 1.13, 2.x, compile)"]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * 5 + "---:|---|---:|---|")
    notes = []
    for name, label, unit in BENCH:
        runs = {s: res.get((name, s), {}) for s in SIDES}
        if not any(runs.values()):
            continue
        if quick:
            label = QUICK.get(name, label)
        if unit == "s":  # whole runs: say how many
            n = max(len(d) for d in runs.values())
            label += f", {n} run{'s' if n > 1 else ''} a side"
        ok = {s: {r: v for r, v in d.items() if isinstance(v, dict)} for s, d in runs.items()}
        med = {s: statistics.median(v["ms"] for v in d.values()) for s, d in ok.items() if d}
        cells = []
        for s in SIDES:
            d = ok[s]
            if d:
                t = [v["ms"] for v in d.values()]
                cells.append(f"{fmt(med[s], unit)} ({fmt(min(t), unit)}-{fmt(max(t), unit)})"
                             if len(t) > 1 else fmt(t[0], unit))
            elif runs[s]:
                why = sorted(set(runs[s].values()))[0]
                cells.append(f"failed ({why})")
                notes.append(f"{label}, {NAMES.get(s, s)}: failed ({why}); its log line is in the output above")
            else:
                cells.append("not run")
        anchors = [s for s in ("torch2", "torch2-compile") if s in med]
        best = min(anchors, key=lambda s: med[s]) if anchors else None

        def ratio(other, key="ms"):
            if "genet" not in med or other not in med:
                return "-"
            if key == "ms":
                r = med["genet"] / med[other]
                per = [ok["genet"][k]["ms"] / ok[other][k]["ms"] for k in ok["genet"] if k in ok[other]]
                spread = f" ({fr(min(per))}-{fr(max(per))})" if len(per) > 1 else ""
                return f"{fr(r)}{spread}"
            g = max(v["rss_mb"] for v in ok["genet"].values())
            t = max(v["rss_mb"] for v in ok[other].values())
            return fr(g / t)
        rss = [f"{max(v['rss_mb'] for v in ok[s].values()):,.0f}" if ok[s] else "-" for s in SIDES]
        thr = ["/".join(sorted({f"{v.get('threads', 0):.0f}" for v in ok[s].values()})) if ok[s] else "-"
               for s in SIDES]
        print(f"| {label} ({unit}) | " + " | ".join(cells) + " | "
              + (f"{ratio(best)} vs {'compile' if best == 'torch2-compile' else 'eager'}" if best else "-")
              + f" | {ratio('torch1.13')} | {', '.join(rss)} | "
              + (ratio(best, 'rss') if best else "-") + f" | {', '.join(thr)} |")
    print()
    print(f"Each time: median over the runs (min-max over the runs); each run's figure is one process's "
          f"mean over its timed steps (genet: its own step timing; PyTorch: perf_counter around each step). "
          f"Ratios: genet's median / that side's median, spread = the per-run ratios. Threads: {threads} "
          f"asked of every side (OMP_NUM_THREADS, genet threads=, torch.set_num_threads); the column shows "
          f"what each side reported.")
    print(f"oneDNN ISA (ONEDNN_VERBOSE, picked once a process, the same for every benchmark): genet "
          f"{isa.get('genet', '?')}; PyTorch 1.13 {isa.get('torch1.13', '?')}; PyTorch 2.x {isa.get('torch2', '?')}.")
    for n in notes:
        print(f"- {n}")


if __name__ == "__main__":
    main()
