#!/usr/bin/env python3
"""genet against PyTorch on the same GPU in the same run: time per step of
  dcgan  one DCGAN iteration, batch 64, nz 100, ngf = ndf = 64, 64x64 (target ratio <= 0.67)
  lm     one LM training step, tied 2 x 200 LSTM, vocabulary 33,278, batch 20, BPTT 35, SGD lr
         20, clip 0.25 (target <= 0.67)
  style  one style-transfer evaluation at 512 px: VGG19 features (random weights) forward to
         relu5_1 and backward to the image through Gatys' taps (target <= 0.9), with TFLOP/s
         against the GPU's dense TF32 peak
ratio = genet ms / PyTorch ms (below 1: genet faster). PyTorch runs with its own defaults, which
genet's default precision = tf32 matches: TF32 for cuDNN convolutions, full FP32 for matmuls. Timed with torch.cuda.synchronize after warm-up steps. genet runs
`$GENET train JOB device=... max_steps=N` on synthetic inputs made here and is read from its
`| timing:` line (ops->step only, device-synchronized, mean after 2 warm-up steps); its style
step is one L-BFGS iteration (max_iter = 1: one evaluation plus the L-BFGS update), and so is
PyTorch's (torch.optim.LBFGS(history_size=100, max_iter=1).step(closure) on the preprocessed
image): both sides time the same work and hold the same growing history.

Prints one markdown block (GPU, driver, torch, date, the table, the exact commands) and appends
it to --out. Exit 0: every cell measured; 3: some genet side refused the device (its message
is in the table); 1: anything else failed.
Usage (gpu-check.sh step 5 sets GENET and GENET_LD_LIBRARY_PATH, the library path genet needs):
  GENET=build/genet python3 scripts/bench/gpu_bench.py [--out FILE] [--only dcgan,lm,style]
  python3 scripts/bench/gpu_bench.py --device cpu --tiny      # dry run of the mechanics
On the CPU, scripts/bench/all.sh runs one side a process (--sides genet|torch, --compile for
torch.compile, --steps N) and reads the `result NAME ms ... rss_mb ...` lines (torchside.py).
"""
import argparse
import datetime
import os
import random
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from dcgan_torch import nets as dcgan_nets  # noqa: E402  (the seed's G and D, shared with dcgan.sh)
import torchside  # noqa: E402

TARGETS = {"dcgan": 0.67, "lm": 0.67, "style": 0.9}
# Dense TF32 tensor-core peaks (TFLOP/s, datasheets; the "with sparsity" figures are twice these).
TF32_PEAK = [("H200 NVL", 417.5), ("H200", 494.7), ("H100 PCIe", 378.0), ("H100 NVL", 417.5),
             ("H100", 494.7), ("A100", 156.0), ("L40S", 183.0), ("A10", 62.5)]
VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
             512, 512, 512, 512, "M"]
GATYS_STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
GATYS_CONTENT = ["relu4_2"]


LAST_TIMES = []   # ms of each timed call of the last time_steps on the CPU
GENET_RSS_MB = {}  # peak RSS of the last genet command of each log, from /usr/bin/time


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def time_steps(step, dev, warmup, steps):
    """Mean ms of `steps` calls of step() after `warmup` calls, device-synchronized."""
    for _ in range(warmup):
        step()
    sync(dev)
    if dev.type == "cpu":  # each call's time, for the result line all.sh reads
        LAST_TIMES[:] = torchside.timed(step, steps)
        return sum(LAST_TIMES) / steps
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(dev)
    return 1e3 * (time.perf_counter() - t0) / steps


# ---------------------------------------------------------------- PyTorch sides

def torch_dcgan(dev, s):
    torch.manual_seed(0)
    G, D = dcgan_nets(100, s["ngf"], s["ngf"])
    G, D = G.to(dev), D.to(dev)
    crit = nn.BCELoss()
    oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    B = s["batch"]
    real = torch.rand(B, 3, 64, 64, device=dev) * 2 - 1
    ones, zeros = torch.ones(B, device=dev), torch.zeros(B, device=dev)

    def step():  # the seed's iteration, as dcgan_torch.py
        D.zero_grad()
        crit(D(real).view(-1), ones).backward()
        fake = G(torch.randn(B, 100, 1, 1, device=dev))
        crit(D(fake.detach()).view(-1), zeros).backward()
        oD.step()
        G.zero_grad()
        crit(D(fake).view(-1), ones).backward()
        oG.step()
    return time_steps(step, dev, s["warmup"], s["steps"])


class RNNModel(nn.Module):
    """pytorch/examples word_language_model, LSTM, tied (as scripts/fixtures/fx_lm.py)."""

    def __init__(self, ntoken, nhid, nlayers, dropout):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, nhid)
        self.rnn = nn.LSTM(nhid, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.decoder.weight = self.encoder.weight
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, x, hidden):
        out, hidden = self.rnn(self.drop(self.encoder(x)), hidden)
        return self.decoder(self.drop(out)).view(-1, self.ntoken), hidden


def torch_lm(dev, s):
    torch.manual_seed(0)
    V, H, B, T = s["vocab"], s["nhid"], 20, 35
    model = RNNModel(V, H, 2, 0.2).to(dev).train()
    crit = nn.CrossEntropyLoss()
    n = s["warmup"] + s["steps"]
    source = torch.randint(0, V, (n * T + 1, B), device=dev)
    hidden = [(torch.zeros(2, B, H, device=dev), torch.zeros(2, B, H, device=dev))]
    i = [0]

    def step():  # the reference's train() body: detach, forward, backward, clip, SGD
        k = i[0] % n
        i[0] += 1
        data, targets = source[k * T:(k + 1) * T], source[k * T + 1:(k + 1) * T + 1].reshape(-1)
        h = tuple(x.detach() for x in hidden[0])
        model.zero_grad()
        out, hidden[0] = model(data, h)
        crit(out, targets).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-20.0)
    return time_steps(step, dev, s["warmup"], s["steps"])


def vgg_layers(div, last):
    """VGG19 features (torchvision's order and names: conv/relu a_b, max pool) up to `last`,
    channels / div, random (He) weights, frozen. Returns the modules and their names."""
    mods, names, cin, block, k = [], [], 3, 1, 1
    for v in VGG19_CFG:
        if v == "M":
            mods.append(nn.MaxPool2d(2, 2))
            names.append(f"pool{block}")
            block, k = block + 1, 1
            continue
        c = nn.Conv2d(cin, v // div, 3, padding=1)
        nn.init.kaiming_normal_(c.weight)
        nn.init.zeros_(c.bias)
        mods += [c, nn.ReLU()]
        names += [f"conv{block}_{k}", f"relu{block}_{k}"]
        cin, k = v // div, k + 1
        if names[-1] == last:
            break
    for m in mods:
        for p in m.parameters():
            p.requires_grad_(False)
    return mods, names


def vgg_features(mods, names, taps):
    """The function x -> {tap name: its output} over the layers of vgg_layers."""
    def features(x):
        out = {}
        for m, n in zip(mods, names):
            x = m(x)
            if n in taps:
                out[n] = x
        return out
    return features


def style_flops(div, size):
    """FLOPs (2 per multiply-add) of one evaluation: every convolution up to relu5_1 forward and
    backward to its input (weights frozen: no weight gradients), the style taps' Grams forward
    and backward. Pooling, ReLU and the losses are not counted."""
    f, cin, hw = 0.0, 3, size * size
    mods, names = vgg_layers(div, GATYS_STYLE[-1])
    for m, n in zip(mods, names):
        if isinstance(m, nn.MaxPool2d):
            hw //= 4
        elif isinstance(m, nn.Conv2d):
            f += 2 * 2.0 * m.in_channels * m.out_channels * 9 * hw
            cin = m.out_channels
        elif n in GATYS_STYLE:
            f += 2 * 2.0 * cin * cin * hw
    return f


def gram(x):
    c, h, w = x.shape[1:]
    f = x.reshape(c, h * w)
    return f @ f.t() / (h * w)


def torch_style(dev, s):
    torch.manual_seed(0)
    mods, names = vgg_layers(s["div"], GATYS_STYLE[-1])
    net = [m.to(dev) for m in mods]
    features = vgg_features(net, names, set(GATYS_STYLE + GATYS_CONTENT))
    size = s["size"]
    mean = torch.tensor([0.40760392, 0.45795686, 0.48501961], device=dev).view(1, 3, 1, 1)
    content = torch.rand(1, 3, size, size, device=dev)
    style = torch.rand(1, 3, size, size, device=dev)
    with torch.no_grad():
        fs, fc = features((style - mean) * 255), features((content - mean) * 255)
        gs = {n: gram(fs[n]) for n in GATYS_STYLE}
        cs = {n: fc[n] for n in GATYS_CONTENT}
        del fs, fc
    # The same work as genet's timed step (jobs/style_gatys.job with max_iter=1): one
    # torch.optim.LBFGS step (history 100, no line search) on the preprocessed image, i.e. one
    # evaluation of the seed's closure plus the two-loop recursion over the history, which
    # grows by one (y, s) pair a step on both sides.
    img = ((content - mean) * 255).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([img], lr=1, max_iter=1, history_size=100)

    def closure():  # the seed's closure: features of the image, style and content losses, backward
        opt.zero_grad()
        f = features(img)
        loss = sum(1e3 / f[n].shape[1] ** 2 * nn.functional.mse_loss(gram(f[n]), gs[n]) for n in GATYS_STYLE)
        loss = loss + sum(nn.functional.mse_loss(f[n], cs[n]) for n in GATYS_CONTENT)
        loss.backward()
        return loss
    a = s.get("args")
    if a is not None and a.compile:
        features = torchside.maybe_compile(a, features)  # the closure reads it at call time
        torchside.warm_up(a, closure, 1)
    return time_steps(lambda: opt.step(closure), dev, s["warmup"], s["steps"])


# ---------------------------------------------------------------- genet sides

def write_png(path, w, h, seed):
    """An RGB noise PNG (8-bit), written by hand: no imaging library needed."""
    rng = random.Random(seed)
    raw = b"".join(b"\x00" + bytes(rng.getrandbits(8) for _ in range(3 * w)) for _ in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def write_corpus(d, vocab, total):
    """As lm.sh: a training split holding vocab - 2 distinct words (+ <eos>, <unk> = vocab)."""
    os.makedirs(d)
    rng = random.Random(1)
    n = vocab - 2
    words = [f"w{i if i < n else rng.randrange(n)}" for i in range(total)]
    text = "".join(w + ("\n" if i % 20 == 19 else " ") for i, w in enumerate(words))
    for name, t in (("train.txt", text), ("valid.txt", text[:20000]), ("test.txt", text[:20000])):
        with open(os.path.join(d, name), "w") as f:
            f.write(t)


def vgg_weights(args, work, s):
    """genet's VGG19 weights: --vgg, the tiny fixture for --tiny, else random (He) weights written
    with h5py when it is there. None when there are none (genet is still run, to show its
    message)."""
    if args.vgg:
        return args.vgg
    if args.tiny:
        return os.path.join(ROOT, "tests", "fixtures", "vgg_tiny_weights.h5")
    try:
        import h5py
    except ImportError:
        return None
    path = os.path.join(work, "vgg19_random.h5")
    mods, _ = vgg_layers(s["div"], "relu5_4")
    with h5py.File(path, "w") as f:
        for i, m in enumerate(mods):  # torchvision's features.<index> names
            if isinstance(m, nn.Conv2d):
                f[f"params/features.{i}.weight"] = m.weight.numpy()
                f[f"params/features.{i}.bias"] = m.bias.numpy()
        f["meta/format_version"] = 1
    return path


TIMING = re.compile(r"^\| timing: (\d+) steps in ([0-9.]+) s, ([0-9.]+) ms/step after the first (\d+)", re.M)


def run_genet(args, cmd, log):
    """Runs a genet command; returns (ms/step or None, note, shell form of the command)."""
    env = dict(os.environ)
    if os.environ.get("GENET_LD_LIBRARY_PATH"):
        env["LD_LIBRARY_PATH"] = os.environ["GENET_LD_LIBRARY_PATH"]
    shown = " ".join(shlex.quote(c) for c in cmd)
    rss = log + ".rss"
    if os.path.exists("/usr/bin/time"):  # peak RSS of genet itself, not of this Python
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss] + cmd
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=args.timeout)
        out, rc = p.stdout, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), 124
    with open(log, "w") as f:
        f.write(out)
    try:
        GENET_RSS_MB[log] = int(open(rss).read().split()[-1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    if rc == 0:
        m = TIMING.search(out)
        if m:
            return float(m.group(3)), "", shown
        return None, "no '| timing:' line", shown
    # "refused" only for genet's deliberate refusal of the device (trainer.c's pick_device:
    # "genet: device = cuda: ...", exit 1); a failed CUDA call (genet_die) is a failure.
    refusal = next((l for l in out.splitlines() if l.startswith("genet: device = cuda: ")), None)
    msg = refusal or next((l for l in out.splitlines() if l.startswith("genet")), None) \
        or (out.strip().splitlines() or [""])[-1]
    kind = "refused" if rc == 1 and refusal else f"failed (exit {rc})"
    print(f"genet {kind}: {msg}\n  (log {log})", flush=True)
    return None, f"{kind}: {msg[:160]}", shown


def genet_dcgan(args, work, s):
    img = os.path.join(work, "img.h5")
    prep = [args.genet, "prepare", "synthetic-images", img, "n=1000", "size=64"]
    run_genet(args, prep, os.path.join(work, "prep_img.log"))
    return [prep], run_genet(args, [
        args.genet, "train", os.path.join(ROOT, "jobs", "dcgan_cifar10.job"), f"data={img}",
        f"device={args.device}", f"max_steps={s['gsteps']}", f"batch={s['batch']}", f"ngf={s['ngf']}",
        f"ndf={s['ngf']}", "sample_every=0", "log_interval=100000", "checkpoint_every=0", "resume=never",
        f"checkpoint_dir={work}/ck_dcgan", f"out_dir={work}/out_dcgan"] + s["threads"],
        os.path.join(work, "genet_dcgan.log"))


def genet_lm(args, work, s):
    txt, data = os.path.join(work, "txt"), os.path.join(work, "text.h5")
    write_corpus(txt, s["vocab"], s["tokens"])
    prep = [args.genet, "prepare", "text", txt, data]
    run_genet(args, prep, os.path.join(work, "prep_text.log"))
    return [prep], run_genet(args, [
        args.genet, "train", os.path.join(ROOT, "jobs", "lm_wikitext2.job"), f"data={data}",
        f"device={args.device}", f"max_steps={s['gsteps']}", f"emsize={s['nhid']}", f"nhid={s['nhid']}",
        "log_interval=100000", "checkpoint_every=0", "resume=never",
        f"checkpoint_dir={work}/ck_lm", f"out_dir={work}/out_lm"] + s["threads"],
        os.path.join(work, "genet_lm.log"))


def genet_style(args, work, s):
    size = s["size"]
    content, style = os.path.join(work, "content.png"), os.path.join(work, "style.png")
    write_png(content, size, size, 1)
    write_png(style, size, size, 2)
    vgg = vgg_weights(args, work, s) or os.path.join(work, "no-vgg19-weights.h5")
    return [], run_genet(args, [
        args.genet, "train", os.path.join(ROOT, "jobs", "style_gatys.job"), f"content={content}",
        f"style={style}", f"vgg={vgg}", f"size={size}", f"device={args.device}",
        f"max_steps={s['gsteps']}", "max_iter=1", "max_evals=1000000", "show_every=1000000",
        "checkpoint_every=0", "resume=never", f"checkpoint_dir={work}/ck_style",
        f"out_dir={work}/out_style"] + s["threads"], os.path.join(work, "genet_style.log"))


# ---------------------------------------------------------------- the report

def settings(args, threads):
    thr = [f"threads={threads}"] if args.device == "cpu" else []
    if args.tiny:  # the mechanics only: small widths, a few steps
        return {"dcgan": dict(batch=8, ngf=8, warmup=1, steps=3, gsteps=5, threads=thr),
                "lm": dict(vocab=2000, nhid=32, tokens=30000, warmup=1, steps=3, gsteps=5, threads=thr),
                "style": dict(size=64, div=16, warmup=1, steps=3, gsteps=5, threads=thr)}
    return {"dcgan": dict(batch=64, ngf=64, warmup=5, steps=30, gsteps=40, threads=thr),
            "lm": dict(vocab=33278, nhid=200, tokens=80000, warmup=5, steps=50, gsteps=60, threads=thr),
            "style": dict(size=512, div=1, warmup=3, steps=15, gsteps=18, threads=thr)}


def machine(dev):
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        drv = ""
        try:
            drv = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30).stdout.split("\n")[0].strip()
        except Exception:
            pass
        return (f"{p.name} ({p.total_memory / 2**30:.0f} GiB, sm_{p.major}{p.minor}), driver {drv or '?'}, "
                f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"), p.name
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "CPU")
    return f"no GPU: {cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} threads (dry run, not a GPU figure)", cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--tiny", action="store_true", help="small widths and a few steps: a dry run of the mechanics")
    ap.add_argument("--genet", default=os.environ.get("GENET", os.path.join(ROOT, "build", "genet")))
    ap.add_argument("--out", help="append the markdown block to this file")
    ap.add_argument("--only", default="dcgan,lm,style")
    ap.add_argument("--vgg", help="VGG19 weights for genet (default: random ones written with h5py)")
    ap.add_argument("--tf32-peak", type=float, help="the GPU's dense TF32 peak in TFLOP/s (default: from its name)")
    ap.add_argument("--timeout", type=float, default=100, help="seconds for each genet command")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads of both sides (--device cpu)")
    ap.add_argument("--sides", default="genet,torch", help="genet, torch or both (all.sh: one a process)")
    ap.add_argument("--steps", type=int, help="timed steps of each side (genet runs 2 more: its warm-up)")
    ap.add_argument("--warmup", type=int, help="PyTorch's warm-up calls")
    torchside.add_args(ap)
    args = ap.parse_args()
    sides = args.sides.split(",")
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_bench: PyTorch sees no CUDA device (use --device cpu --tiny for a dry run)")
    dev = torch.device(args.device)
    # PyTorch's defaults, set explicitly; genet's precision = tf32 is the same pair.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    what = [w for w in args.only.split(",") if w]
    cfg = settings(args, args.threads)
    for w in cfg.values():
        w["args"] = args
        if args.steps:
            w["steps"], w["gsteps"] = args.steps, args.steps + 2
        if args.warmup is not None:
            w["warmup"] = args.warmup
    if "torch" in sides:
        print(torchside.config_line(), flush=True)
    where, name = machine(dev)
    peak = args.tf32_peak or next((v for k, v in TF32_PEAK if k in name), None) if args.device == "cuda" else None
    gv = subprocess.run([args.genet, "version"], capture_output=True, text=True,
                        env=dict(os.environ, **({"LD_LIBRARY_PATH": os.environ["GENET_LD_LIBRARY_PATH"]}
                                                if os.environ.get("GENET_LD_LIBRARY_PATH") else {})))
    genet_version = (gv.stdout.strip().splitlines() or ["? (" + gv.stderr.strip()[:100] + ")"])[0]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    work = tempfile.mkdtemp(prefix="genet-gpu-bench.")
    rows, commands, status = [], [], 0
    tsides = {"dcgan": torch_dcgan, "lm": torch_lm, "style": torch_style}
    gsides = {"dcgan": genet_dcgan, "lm": genet_lm, "style": genet_style}
    try:
        for w in what:
            s = cfg[w]
            args.result_names = [f"{w}_eval" if w == "style" else w]
            tms = gms = note = None
            if "torch" in sides:
                print(f"-- {w}: PyTorch", flush=True)
                try:
                    tms = tsides[w](dev, s)
                    if args.device == "cpu":
                        torchside.result(args.result_names[0], LAST_TIMES)
                except Exception as e:  # noqa: BLE001  (recorded in the table, the others still run)
                    tms, status = None, 1
                    print(f"PyTorch {w} failed: {e!r}", flush=True)
                    print(f"result {args.result_names[0]} failed {type(e).__name__}", flush=True)
            if "genet" in sides:
                print(f"-- {w}: genet", flush=True)
                prep, (gms, note, cmd) = gsides[w](args, work, s)
                commands += [" ".join(shlex.quote(c) for c in p) for p in prep] + [cmd]
                rss = GENET_RSS_MB.get(os.path.join(work, f"genet_{w}.log"))
                print(f"result {args.result_names[0]} ms {gms:.3f} n {s['gsteps'] - 2} rss_mb "
                      f"{rss if rss is not None else float('nan'):.0f} threads {args.threads}" if gms
                      else f"result {args.result_names[0]} failed genet", flush=True)
                if gms is None:
                    status = max(status, 3) if note.startswith("refused") else 1
            ratio = gms / tms if gms and tms else None
            tfl = ["", "", ""]
            if w == "style":
                f = style_flops(s["div"], s["size"])
                tfl = [f"{f / gms / 1e9:.3g}" if gms else "", f"{f / tms / 1e9:.3g}" if tms else "",
                       f"{100 * f / gms / 1e9 / peak:.0f}% / {100 * f / tms / 1e9 / peak:.0f}%" if peak and gms and tms else ""]
            rows.append([w, f"{gms:.2f}" if gms else note or "-", f"{tms:.2f}" if tms else "failed",
                         f"{ratio:.3f}" if ratio else "", f"<= {TARGETS[w]}",
                         ("yes" if ratio <= TARGETS[w] else "no") if ratio else ""] + tfl)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    s = cfg
    block = [f"### genet against PyTorch, {'dry run on the CPU (--tiny)' if args.tiny else args.device}: {date}", "",
             f"- GPU: {where}" if args.device == "cuda" else f"- machine: {where}",
             f"- PyTorch {torch.__version__} (its defaults: TF32 for cuDNN, FP32 matmul; cudnn.benchmark), "
             f"genet: {genet_version}",
             f"- sizes: DCGAN batch {s['dcgan']['batch']} ngf=ndf {s['dcgan']['ngf']} 64x64; LM vocabulary "
             f"{s['lm']['vocab']}, 2 x {s['lm']['nhid']} tied, batch 20, BPTT 35; style {s['style']['size']} px, "
             f"VGG19 channels / {s['style']['div']}",
             f"- PyTorch: mean of {', '.join(str(s[w]['steps']) for w in what)} timed steps after "
             f"{', '.join(str(s[w]['warmup']) for w in what)} warm-up; genet: `| timing:` line of "
             f"{', '.join(str(s[w]['gsteps']) for w in what)} steps (mean after 2 warm-up)",
             f"- TF32 dense peak: {f'{peak} TFLOP/s' if peak else 'unknown (--tf32-peak)'}; style TFLOP/s count "
             f"{style_flops(s['style']['div'], s['style']['size']) / 1e9:.3g} GFLOP an evaluation "
             "(convolutions forward + backward to the input, Grams; genet's step adds the L-BFGS update)", "",
             "| workload | genet ms | PyTorch ms | ratio (genet/PyTorch) | target | met | genet TFLOP/s | "
             "PyTorch TFLOP/s | of TF32 peak (genet / PyTorch) |",
             "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    block += ["| " + " | ".join(r) + " |" for r in rows]
    block += ["", "Commands (PyTorch runs inside " +
              " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv) + "):", "", "```"]
    block += commands + ["```", ""]
    text = "\n".join(block)
    print("\n" + text, flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text + "\n")
        print(f"(appended to {args.out})")
    return status


if __name__ == "__main__":
    sys.exit(main())
