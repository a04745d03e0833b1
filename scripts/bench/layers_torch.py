#!/usr/bin/python3
"""PyTorch side of scripts/bench/layers.sh: the median time of forward+backward of each case
in layers.cases, printed as `NAME MS` lines. Usage: layers_torch.py CASES [REPS]"""
import os
import sys
import time

import torch
import torch.nn as nn

from cases import parse_cases


def median_time(fn, reps):
    fn()  # warm-up: the first call creates oneDNN primitives and allocates
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def forward_backward(m, x):
    def f():
        y = m(x)
        y.backward(torch.ones_like(y))
    return f


def build(kind, a):
    if kind in ("conv", "convt"):
        n, cin, h, w, cout, k, s, p = a
        cls = nn.Conv2d if kind == "conv" else nn.ConvTranspose2d
        return forward_backward(cls(cin, cout, k, s, p, bias=False),
                                torch.randn(n, cin, h, w, requires_grad=True))
    if kind == "bn":
        n, c, h, w = a
        return forward_backward(nn.BatchNorm2d(c).train(), torch.randn(n, c, h, w, requires_grad=True))
    if kind == "pool":
        n, c, h, w, k, s = a
        return forward_backward(nn.MaxPool2d(k, s), torch.randn(n, c, h, w, requires_grad=True))
    if kind == "lstm":
        t, b, i, hdim, l = a
        m = nn.LSTM(i, hdim, l)
        x = torch.randn(t, b, i, requires_grad=True)
        h0 = (torch.zeros(l, b, hdim), torch.zeros(l, b, hdim))

        def f():
            y, _ = m(x, h0)
            y.backward(torch.ones_like(y))
        return f
    if kind == "xent":
        n, v = a
        logits = torch.randn(n, v, requires_grad=True)
        target = torch.randint(0, v, (n,))
        crit = nn.CrossEntropyLoss()
        return lambda: crit(logits, target).backward()
    raise ValueError(f"unknown case kind {kind}")


def main():
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    torch.manual_seed(0)
    for name, kind, args in parse_cases(sys.argv[1]):
        print(f"{name} {median_time(build(kind, args), reps) * 1e3:.3f}", flush=True)


if __name__ == "__main__":
    main()
