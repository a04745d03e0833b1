#!/usr/bin/python3
"""Peak memory (resident set) of style transfer, genet against PyTorch on the same job, one
run each under /usr/bin/time -v at the same thread count (issue 21's Memory section).

The job is gpu_bench.py's style case: VGG19 at full width with random weights, Gatys' taps
(style relu1_1 .. relu5_1, content relu4_2), a SIZE x SIZE noise content and style image,
L-BFGS (history 100, max_iter 1: one evaluation a step) for STEPS steps on both sides (PyTorch:
torch.optim.LBFGS on the image, the seed's closure; genet: jobs/style_gatys.job with vgg =
random). Prints one line per side and their ratio.

    GENET=build/genet OPENBLAS_CORETYPE=Haswell /usr/bin/python3 scripts/bench/style_memory.py \
        --size 512 --steps 6 --threads 2
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

TORCH_SIDE = r'''
import sys, torch, torch.nn as nn
sys.path.insert(0, {here!r})
from gpu_bench import vgg_layers, gram, GATYS_STYLE, GATYS_CONTENT
torch.set_num_threads({threads})
torch.manual_seed(0)
mods, names = vgg_layers(1, GATYS_STYLE[-1])
taps = set(GATYS_STYLE + GATYS_CONTENT)
def features(x):
    out = {{}}
    for m, n in zip(mods, names):
        x = m(x)
        if n in taps:
            out[n] = x
    return out
for m in mods:
    for p in m.parameters():
        p.requires_grad_(False)
size = {size}
mean = torch.tensor([0.40760392, 0.45795686, 0.48501961]).view(1, 3, 1, 1)
content, style = torch.rand(1, 3, size, size), torch.rand(1, 3, size, size)
with torch.no_grad():
    fs, fc = features((style - mean) * 255), features((content - mean) * 255)
    gs = {{n: gram(fs[n]) for n in GATYS_STYLE}}
    cs = {{n: fc[n] for n in GATYS_CONTENT}}
    del fs, fc
img = ((content - mean) * 255).clone().requires_grad_(True)
opt = torch.optim.LBFGS([img], lr=1, max_iter=1, history_size=100)
def closure():
    opt.zero_grad()
    f = features(img)
    loss = sum(1e3 / f[n].shape[1] ** 2 * nn.functional.mse_loss(gram(f[n]), gs[n]) for n in GATYS_STYLE)
    loss = loss + sum(nn.functional.mse_loss(f[n], cs[n]) for n in GATYS_CONTENT)
    loss.backward()
    return loss
for _ in range({steps}):
    opt.step(closure)
'''


def peak_rss_mb(cmd, env, log):
    with open(log, "w") as f:
        r = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    text = open(log).read()
    if r.returncode != 0:
        sys.exit(f"{cmd[0]} failed (exit {r.returncode}); see {log}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return int(m.group(1)) / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="genet,torch")
    args = ap.parse_args()
    genet = os.environ.get("GENET", os.path.join(ROOT, "build", "genet"))
    sys.path.insert(0, HERE)
    from gpu_bench import write_png  # noqa: E402
    work = tempfile.mkdtemp(prefix="style_memory_")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    res = {}
    if "genet" in args.only:
        content, style = os.path.join(work, "content.png"), os.path.join(work, "style.png")
        write_png(content, args.size, args.size, 1)
        write_png(style, args.size, args.size, 2)
        res["genet"] = peak_rss_mb([
            genet, "train", os.path.join(ROOT, "jobs", "style_gatys.job"), f"content={content}",
            f"style={style}", "vgg=random", f"size={args.size}", f"max_steps={args.steps}",
            "max_iter=1", "history=100", "max_evals=1000000", "show_every=1000000",
            "checkpoint_every=0", "resume=never", f"threads={args.threads}",
            f"checkpoint_dir={work}/ck", f"out_dir={work}/out"], env, os.path.join(work, "genet.log"))
    if "torch" in args.only:
        script = os.path.join(work, "torch_side.py")
        with open(script, "w") as f:
            f.write(TORCH_SIDE.format(here=HERE, threads=args.threads, size=args.size, steps=args.steps))
        res["torch"] = peak_rss_mb([sys.executable, script], env, os.path.join(work, "torch.log"))
    for k, v in res.items():
        print(f"{k}: peak RSS {v:.0f} MB ({args.size} px, {args.steps} L-BFGS steps, {args.threads} threads)")
    if len(res) == 2:
        print(f"ratio genet/PyTorch: {res['genet'] / res['torch']:.2f}")
    print(f"logs in {work}")


if __name__ == "__main__":
    main()
