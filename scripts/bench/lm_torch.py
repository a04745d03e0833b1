#!/usr/bin/python3
"""PyTorch side of the language-model throughput benchmark: the reference recipe (tied 2x200
LSTM, dropout 0.2, batch 20, bptt 35, SGD lr 20, clip 0.25, CrossEntropyLoss) trained on a
random token stream, hidden state carried and detached between windows as the reference does.
Times --steps training steps after 3 warm-up steps and prints

    torch ms_per_step X
    torch tokens_per_s Y        (tokens = batch * bptt per step)
    torch ms_per_step_median M min N
    result lm_step ms ... rss_mb ... threads ...     (torchside.py; scripts/bench/all.sh reads it)

Usage: PYTHON scripts/bench/lm_torch.py [--threads N] [--steps N] [--ntokens V] [--compile]
PYTHON: /usr/bin/python3 (Debian's PyTorch 1.13) or build/bench-venv/bin/python (PyTorch 2.x;
--compile: torch.compile of the model). Set OPENBLAS_CORETYPE=Haswell on CPUs that Debian's
OpenBLAS misdetects (as layers.sh does).
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fx_lm import RNNModel  # noqa: E402  (the reference model, shared with the parity fixture)
import torchside  # noqa: E402


def blas_report():
    a = torch.randn(64, 64)
    a @ a  # make sure the BLAS is loaded
    libs = sorted({l.split()[-1] for l in open("/proc/self/maps")
                   if "blas" in l.lower() and ".so" in l})
    print(torchside.config_line())
    if torch.__version__ < "2" and not any("openblas" in l for l in libs):
        print("WARNING: PyTorch is not using OpenBLAS (install libopenblas0-pthread); "
              "its GEMMs run the reference BLAS")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--ntokens", type=int, default=33278)
    ap.add_argument("--emsize", type=int, default=200)
    ap.add_argument("--nhid", type=int, default=200)
    ap.add_argument("--nlayers", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--bptt", type=int, default=35)
    ap.add_argument("--lr", type=float, default=20.0)
    ap.add_argument("--clip", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=0)
    torchside.add_args(ap)
    a = ap.parse_args()
    a.result_names = ["lm_step"]

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    blas_report()
    print(f"threads {torch.get_num_threads()}; model tied {a.nlayers}x{a.nhid} emsize {a.emsize} "
          f"ntokens {a.ntokens} dropout {a.dropout}; batch {a.batch} bptt {a.bptt}; "
          f"{a.warmup} warm-up + {a.steps} timed steps; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f} (other processes on the cores slow multi-threaded runs a lot)")

    model = RNNModel(a.ntokens, a.emsize, a.nhid, a.nlayers, a.dropout, tie_weights=True)
    model.train()
    criterion = nn.CrossEntropyLoss()
    n = a.warmup + a.steps
    # Batchified random stream: one window of bptt rows (+1 for the targets) per step.
    source = torch.randint(0, a.ntokens, (n * a.bptt + 1, a.batch))
    hidden = model.init_hidden(a.batch)
    fwd = torchside.maybe_compile(a, model)

    def step(i):
        nonlocal hidden
        data = source[i * a.bptt:(i + 1) * a.bptt]
        targets = source[i * a.bptt + 1:(i + 1) * a.bptt + 1].reshape(-1)
        hidden = tuple(h.detach() for h in hidden)
        model.zero_grad()
        output, hidden = fwd(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-a.lr)
        return loss.item()

    it = iter(range(a.warmup))
    torchside.warm_up(a, lambda: step(next(it)), a.warmup)
    times = []
    t0 = time.perf_counter()
    for i in range(a.warmup, n):
        t1 = time.perf_counter()
        loss = step(i)
        times.append(time.perf_counter() - t1)
    dt = (time.perf_counter() - t0) / a.steps
    med = sorted(times)[len(times) // 2]
    print(f"last loss {loss:.4f} (random tokens: about ln(ntokens) = "
          f"{torch.log(torch.tensor(float(a.ntokens))).item():.4f})")
    print(f"torch ms_per_step {dt * 1e3:.3f}")
    print(f"torch tokens_per_s {a.batch * a.bptt / dt:.1f}")
    # Less sensitive to other processes than the mean (which the two lines above report).
    print(f"torch ms_per_step_median {med * 1e3:.3f} min {min(times) * 1e3:.3f}")
    torchside.result("lm_step", [1e3 * t for t in times])


if __name__ == "__main__":
    main()
