#!/usr/bin/python3
"""PyTorch side of scripts/bench/dcgan.sh: the seed's DCGAN iteration (D on real with label 1, D
on G(z).detach() with label 0, Adam step of D, G through the updated D with label 1, Adam step
of G) at the reference widths (nz 100, ngf = ndf = 64, 64x64 images, batch 64) on random
images, timed over --steps iterations after 2 warm-up iterations. Prints
    torch ms_per_step X
    result dcgan_iter ms ... rss_mb ... threads ...     (torchside.py; scripts/bench/all.sh reads it)
Usage: PYTHON scripts/bench/dcgan_torch.py [--threads N] [--steps N] [--batch N] [--compile]
PYTHON: /usr/bin/python3 (Debian's PyTorch 1.13) or build/bench-venv/bin/python (PyTorch 2.x;
--compile: torch.compile of G and D).
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchside  # noqa: E402


def nets(nz, ngf, ndf):
    G = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    return G, D


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=2)
    torchside.add_args(ap)
    a = ap.parse_args()
    a.result_names = ["dcgan_iter"]
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    nz, B = 100, a.batch
    G, D = nets(nz, 64, 64)
    print(torchside.config_line())
    crit = nn.BCELoss()
    oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(B, 3, 64, 64) * 2 - 1
    ones, zeros = torch.ones(B), torch.zeros(B)
    cG, cD = torchside.maybe_compile(a, G), torchside.maybe_compile(a, D)

    def step():
        D.zero_grad()
        crit(cD(real).view(-1), ones).backward()
        fake = cG(torch.randn(B, nz, 1, 1))
        crit(cD(fake.detach()).view(-1), zeros).backward()
        oD.step()
        G.zero_grad()
        crit(cD(fake).view(-1), ones).backward()
        oG.step()

    torchside.warm_up(a, step, a.warmup)
    t = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        t.append(time.perf_counter() - t0)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, batch {B}: "
          f"min {1e3 * min(t):.1f} ms, mean {1e3 * sum(t) / len(t):.1f} ms over {len(t)} steps")
    print(f"torch ms_per_step {1e3 * sum(t) / len(t):.2f}")
    torchside.result("dcgan_iter", [1e3 * x for x in t])


if __name__ == "__main__":
    main()
