#!/usr/bin/python3
"""PyTorch check of jobs/style_demo.job, run whole: the seed's style-transfer loop (Caffe
preprocessing: short side Resize(size), BGR, mean subtracted, x 255; the image starts as the
content; L-BFGS lr 1, max_iter 20, history 100, stepped while the closure count is <= max_evals;
Gram / (h w), style weight 1e3 / n^2, MSE losses) on VGG19 at 1/div of its widths with seeded
random weights (gpu_bench.py's vgg_layers: He-normal, torchvision's layer order), Gatys' taps
(relu1_1 ... relu5_1 style, relu4_2 content), as the demo job's `vgg = random/4`. genet's random
weights are its own, so the losses differ; the work per evaluation is the same. Writes the
result to --out, prints the loss every --show-every evaluations and the loop's wall time
(scripts/bench/all.sh times the whole process; a torch.compile failure prints `result style_demo
failed compile` for it).
Usage: PYTHON scripts/bench/style_demo_torch.py CONTENT STYLE [--size 192] [--div 4]
           [--max-evals 200] [--show-every 25] [--threads 2] [--seed 1] [--out result.png] [--compile]
PYTHON: /usr/bin/python3 (Debian's PyTorch 1.13) or build/bench-venv/bin/python (PyTorch 2.x).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_bench import GATYS_CONTENT, GATYS_STYLE, gram, vgg_features, vgg_layers  # noqa: E402
import torchside  # noqa: E402

MEAN = [0.40760392, 0.45795686, 0.48501961]  # the seed's BGR ImageNet mean


def load(path, size):
    """The seed's prep: Resize(size) (short side, bilinear), BGR, mean subtracted, x 255."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if w < h:
        w, h = size, round(h * size / w)
    else:
        w, h = round(w * size / h), size
    x = np.asarray(im.resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
    x = torch.from_numpy(x).permute(2, 0, 1)[[2, 1, 0]]
    return ((x - torch.tensor(MEAN).view(3, 1, 1)) * 255).unsqueeze(0).contiguous()


def save(path, x):
    x = (x[0].detach() / 255 + torch.tensor(MEAN).view(3, 1, 1))[[2, 1, 0]].clamp(0, 1)
    Image.fromarray((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("content")
    ap.add_argument("style")
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--div", type=int, default=4)
    ap.add_argument("--max-evals", type=int, default=200)
    ap.add_argument("--show-every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="result.png")
    torchside.add_args(ap)
    a = ap.parse_args()
    a.result_names = ["style_demo"]
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    print(torchside.config_line())
    mods, names = vgg_layers(a.div, GATYS_STYLE[-1])
    taps = GATYS_STYLE + GATYS_CONTENT
    features = vgg_features(mods, names, taps)
    fwd = torchside.maybe_compile(a, features)
    content, style = load(a.content, a.size), load(a.style, a.size)
    print(f"content {tuple(content.shape[2:])}, style {tuple(style.shape[2:])}; VGG19 widths / {a.div}, "
          f"random weights; {a.max_evals} evaluations; threads {torch.get_num_threads()}; "
          f"load average {os.getloadavg()[0]:.2f}")
    with torch.no_grad():
        fs, fc = features(style), features(content)
        targets = {n: gram(fs[n]) for n in GATYS_STYLE}
        targets.update({n: fc[n] for n in GATYS_CONTENT})
    weight = {n: 1e3 / fs[n].shape[1] ** 2 for n in GATYS_STYLE}
    weight.update({n: 1.0 for n in GATYS_CONTENT})
    img = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([img], lr=1, max_iter=20, history_size=100)
    n_eval = [0]

    def closure():
        opt.zero_grad()
        f = fwd(img)
        loss = sum(weight[n] * nn.functional.mse_loss(gram(f[n]) if n in GATYS_STYLE else f[n], targets[n])
                   for n in taps)
        loss.backward()
        n_eval[0] += 1
        if n_eval[0] % a.show_every == 0:
            print(f"evaluation {n_eval[0]}, loss {loss.item():.6g}", flush=True)
        return loss

    t0 = time.perf_counter()
    try:
        while n_eval[0] <= a.max_evals:
            opt.step(closure)
    except Exception as e:  # noqa: BLE001  torch.compile fails at its first call
        if not a.compile:
            raise
        torchside.compile_failed(a, e)
    print(f"{n_eval[0]} evaluations, loop {time.perf_counter() - t0:.1f} s")
    save(a.out, img)


if __name__ == "__main__":
    main()
