#!/usr/bin/python3
"""PyTorch check of jobs/dcgan_demo.job: the seed's DCGAN loop (pytorch/examples dcgan: D on a
real batch with label 1 and on G(z).detach() with label 0, Adam step of D, G through the
updated D with label 1, Adam step of G) with the demo's settings, on the same HDF5 images
(`genet prepare synthetic-glyphs`), at 32 px (genet's image_size = 32: each network without
its widest inner layer) or 64 px. Prints the sliced Wasserstein distance (x1e3, the NumPy
implementation of scripts/fixtures/fx_swd.py, independent of src/metrics/swd.c) by genet's
method: --swd-images images of G in evaluation mode from noise fixed for the run, against as
many training images drawn once for the run, before training and at each epoch end (its own
random draws: the same method, not the same samples). Writes the grids real_samples.png and
fake_samples_epoch_NNN.png (G in training mode on fixed noise, as the reference) to --out.
Usage: /usr/bin/python3 scripts/bench/dcgan_demo_torch.py data/synthetic-glyphs.h5
           [--image-size 32] [--nz 32] [--ngf 16] [--ndf 16] [--batch 64] [--epochs 25]
           [--threads 2] [--seed 1] [--swd-images 256] [--out out/dcgan_demo_torch] [--compile]
Runs under Debian's PyTorch 1.13 (/usr/bin/python3) or 2.x (build/bench-venv/bin/python, which
scripts/bench/all.sh times it with; --compile: torch.compile of G and D in the training loop).
"""
import argparse
import os
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import fx_swd  # noqa: E402  (scripts/fixtures: the SWD the C test is checked against)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchside  # noqa: E402


def nets(nz, ngf, ndf, size):
    """The reference _netG/_netD; at 32 px without the 8*ngf / 8*ndf layer."""
    m = 8 if size == 64 else 4
    g = [nn.ConvTranspose2d(nz, ngf * m, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * m), nn.ReLU(True)]
    while m > 1:
        g += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * m // 2),
              nn.ReLU(True)]
        m //= 2
    g += [nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh()]
    d = [nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    m = 1
    while m < (8 if size == 64 else 4):
        d += [nn.Conv2d(ndf * m, ndf * m * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * m * 2),
              nn.LeakyReLU(0.2, inplace=True)]
        m *= 2
    d += [nn.Conv2d(ndf * m, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    return nn.Sequential(*g), nn.Sequential(*d)


def weights_init(m):
    """The reference's weights_init."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        m.weight.data.normal_(0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


def swd(fake, real, rng):
    """fx_swd's SWD (x1e3 per level and mean) with fresh random centres and directions."""
    n, _, h, w = real.shape
    levels = 0
    while (h >> levels) >= 16:  # levels down to 16 px, as swd.c
        levels += 1
    r = fx_swd.SIDE // 2
    patches = [np.stack([rng.randint(r, (h >> l) - r, n * fx_swd.PATCHES),
                         rng.randint(r, (w >> l) - r, n * fx_swd.PATCHES)], axis=1) for l in range(levels)]
    dirs = [rng.normal(0, 1, (fx_swd.DIRS, 3 * fx_swd.SIDE ** 2)) for _ in range(levels)]
    return fx_swd.swd(real.astype(np.float64), fake.astype(np.float64), patches, dirs)


def grid(path, x):
    """8 per row, 2 px padding, [-1, 1] -> [0, 255], as genet's image_grid_png."""
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
    n, _, h, w = x.shape
    rows = (n + 7) // 8
    g = np.zeros((rows * (h + 2) + 2, 8 * (w + 2) + 2, 3), np.uint8)
    for i in range(n):
        r, c = divmod(i, 8)
        g[2 + r * (h + 2):2 + r * (h + 2) + h, 2 + c * (w + 2):2 + c * (w + 2) + w] = x[i].transpose(1, 2, 0)
    Image.fromarray(g).save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--image-size", type=int, default=32, choices=[32, 64])
    ap.add_argument("--nz", type=int, default=32)
    ap.add_argument("--ngf", type=int, default=16)
    ap.add_argument("--ndf", type=int, default=16)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--beta1", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--swd-images", type=int, default=256, help="the demo job's swd_images")
    ap.add_argument("--out", default="out/dcgan_demo_torch")
    torchside.add_args(ap)
    a = ap.parse_args()
    a.result_names = ["dcgan_demo"]
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.RandomState(a.seed)
    with h5py.File(a.data, "r") as f:
        u8 = f["train/images"][:]
    if u8.shape[1:] != (3, a.image_size, a.image_size):
        sys.exit(f"{a.data}: train/images is {u8.shape}, expected (n, 3, {a.image_size}, {a.image_size}) "
                 "(prepare it at size={a.image_size})")
    data = torch.from_numpy(u8).float() / 127.5 - 1.0  # ToTensor + Normalize(0.5, 0.5)
    B, nz = a.batch, a.nz
    G, D = nets(nz, a.ngf, a.ndf, a.image_size)
    G.apply(weights_init)
    D.apply(weights_init)
    tG, tD = torchside.maybe_compile(a, G), torchside.maybe_compile(a, D)  # the training loop's
    crit = nn.BCELoss()
    oD = torch.optim.Adam(D.parameters(), a.lr, betas=(a.beta1, 0.999))
    oG = torch.optim.Adam(G.parameters(), a.lr, betas=(a.beta1, 0.999))
    fixed = torch.randn(B, nz, 1, 1)
    n_swd = min(a.swd_images, len(data))
    swd_real = data[torch.randperm(len(data))[:n_swd]].numpy()  # fixed for the run
    swd_z = torch.randn(n_swd, nz, 1, 1)
    ones, zeros = torch.ones(B), torch.zeros(B)
    os.makedirs(a.out, exist_ok=True)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads; {a.data}: {len(data)} images "
          f"{a.image_size}x{a.image_size}; nz {nz}, ngf {a.ngf}, ndf {a.ndf}, batch {B}, {a.epochs} epochs, "
          f"G {sum(p.numel() for p in G.parameters())} floats, D {sum(p.numel() for p in D.parameters())} floats")

    def report(epoch):
        G.eval()  # running statistics, as genet's SWD images; changes no state
        with torch.no_grad():
            gen = torch.cat([G(swd_z[i:i + B]) for i in range(0, n_swd, B)])
        G.train()
        s = swd(gen.numpy(), swd_real, rng)
        levels = ", ".join(f"{a.image_size >> l} px {v:.1f}" for l, v in enumerate(s[:-1]))
        print(f"| {epoch}: SWD x1e3 ({n_swd} of G in evaluation mode vs {n_swd} fixed real): {levels}; "
              f"mean {s[-1]:.1f}", flush=True)
        with torch.no_grad():
            fake = G(fixed)  # training mode, as the reference's grids
        grid(os.path.join(a.out, f"fake_samples_epoch_{epoch:03d}.png" if epoch != "untrained"
                          else "fake_samples_untrained.png"), fake)

    report("untrained")
    steps = len(data) // B
    # the SWD and the grids are not training time
    try:
        train(a, data, tG, tD, G, D, oD, oG, crit, ones, zeros, steps, report)
    except Exception as e:  # noqa: BLE001  (torch.compile's failures come as many types)
        if not a.compile:
            raise
        torchside.compile_failed(a, e)


def train(a, data, tG, tD, G, D, oD, oG, crit, ones, zeros, steps, report):
    B, nz, train_s = a.batch, a.nz, 0.0
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(data))
        for i in range(steps):
            real = data[perm[i * B:(i + 1) * B]]
            D.zero_grad()
            out = tD(real).view(-1)
            err_real = crit(out, ones)
            err_real.backward()
            d_x = out.mean().item()
            fake = tG(torch.randn(B, nz, 1, 1))
            out = tD(fake.detach()).view(-1)
            err_fake = crit(out, zeros)
            err_fake.backward()
            oD.step()
            G.zero_grad()
            out = tD(fake).view(-1)
            err_g = crit(out, ones)
            err_g.backward()
            oG.step()
            if i % 50 == 0:
                print(f"[{epoch}/{a.epochs}][{i}/{steps}] Loss_D: {(err_real + err_fake).item():.4f} "
                      f"Loss_G: {err_g.item():.4f} D(x): {d_x:.4f} D(G(z)): {out.mean().item():.4f}", flush=True)
        train_s += time.perf_counter() - t0
        report(epoch)
        print(f"| epoch {epoch}: {train_s:.1f} s of training so far", flush=True)
    grid(os.path.join(a.out, "real_samples.png"), real)


if __name__ == "__main__":
    main()
