#!/usr/bin/env python3
"""Predicted step time and scaling efficiency of genet's data-parallel workloads on 1 to 512
GPUs (docs/SCALING.md explains the model and every input). Plain python3, no packages.

    python3 scripts/scaling.py                      # every workload, A100 and H100 nodes
    python3 scripts/scaling.py --workload lm --gpu h100 --step-ms 12.5   # a measured step

Weak scaling, as Horovod's benchmark: each GPU keeps the reference recipe's batch, so the
global batch grows with the GPU count. A step on N GPUs is the per-GPU compute time plus the
part of the gradient all-reduce that does not hide behind backward; the efficiency is the
one-GPU step time over the N-GPU one (throughput per GPU against one GPU alone).

Every input carries its kind: MEASURED (by genet in this repository), PUBLISHED (a vendor's
or a paper's figure, source in SOURCES), ASSUMED (a modelling choice, stated), PLACEHOLDER
(unknown until genet runs on a GPU: the per-GPU step time, which the tables sweep instead).
"""
import argparse
import math

SOURCES = {
    "nccl-tests": "NVIDIA nccl-tests doc/PERFORMANCE.md: all-reduce time t = (S/B) * 2(n-1)/n "
                  "for a bus bandwidth B (https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md)",
    "nccl-tuning": "NVIDIA NCCL's cost model, src/graph/tuning.cc (its 2020 version, commit 01afd20a; "
                   "later NCCLs add NVLink SHARP and other algorithms): latencies of the "
                   "Simple protocol in us, ring base 8.4, per hop NVLink 3.4 / network 9.6 (x1.9 for large "
                   "multi-node messages); tree per hop NVLink 28 / network 50; tree bus bandwidth 0.9 x, "
                   "at most 80 GB/s beyond 2 nodes (110 within), algorithm bandwidth half of it; sm80 "
                   "bus bandwidth at most 235 GB/s (https://github.com/NVIDIA/nccl/blob/master/src/graph/tuning.cc)",
    "nvlink": "NVIDIA NVLink: A100 12 third-generation links, 600 GB/s total per GPU; H100 "
              "fourth generation, 900 GB/s bidirectional per GPU (https://www.nvidia.com/en-us/data-center/nvlink/)",
    "dgx-a100": "NVIDIA DGX A100 User Guide: 8 single-port ConnectX-6 200 Gb/s HDR InfiniBand "
                "for the compute fabric (https://docs.nvidia.com/dgx/dgxa100-user-guide/)",
    "dgx-h100": "NVIDIA DGX H100 User Guide: 8 ConnectX-7 400 Gb/s NDR InfiniBand ports for the "
                "compute fabric (https://docs.nvidia.com/dgx/dgxh100-user-guide/)",
    "horovod": "Horovod benchmarks: 128 servers x 4 Pascal GPUs, RoCE 25 Gbit/s: 90% scaling "
               "efficiency for Inception V3 and ResNet-101, 68% for VGG-16, at 512 GPUs "
               "(https://github.com/horovod/horovod/blob/master/docs/benchmarks.rst; Sergeev and "
               "Del Balso, arXiv:1802.05799)",
}

# Interconnect of one node of 8 GPUs. intra: bus bandwidth within the node (GB/s, one
# direction); net: the node's network bandwidth (GB/s, all its NICs, one direction).
GPUS = {
    "a100": dict(title="DGX A100-class: NVLink3, 8 x HDR 200 Gb/s", per_node=8,
                 intra=min(600 / 2, 235.0),  # PUBLISHED: nvlink (one direction), nccl-tuning sm80 cap
                 net=8 * 200 / 8),           # PUBLISHED: dgx-a100, 8 x 25 GB/s
    "h100": dict(title="DGX H100-class: NVLink4, 8 x NDR 400 Gb/s", per_node=8,
                 intra=900 / 2,              # PUBLISHED: nvlink (one direction)
                 net=8 * 400 / 8),           # PUBLISHED: dgx-h100, 8 x 50 GB/s
}

# Each workload's gradient sets, each all-reduced by its own GradSync in buckets of bucket_mb.
#   floats: the set's flat gradient buffer (MEASURED: genet's log, 16-float padding included);
#   tensors: (name, floats, ready) in the order backward finishes them, ready being how far
#     through the backward pass the set's all-reduce can overlap (0 start, 1 end) the gradient
#     is final (from genet's GradReady calls; the positions between are ASSUMED);
#   end: where in the step (0..1) the set's optimizer needs its gradients; overlap: the share
#     of the step its backward window takes, ending there (ASSUMED: LM backward = 2/3 of the
#     step; DCGAN from the MEASURED CPU layer times of docs/BENCHMARKS.md, each network's
#     forward + backward about 191 ms (D) and 194 ms (G), backward 2/3 of that: the step is
#     D on the reals (191), G forward (65), D on the fakes (191; D's window: its backward, 127),
#     D's Adam, D for G's loss (191), G backward (129; G's window), G's Adam: 767 ms, against
#     the 847-876 ms measured for the whole iteration).
WORKLOADS = {
    "lm": dict(
        title="word-level LM, jobs/lm_wikitext2.job (tied 2 x 200 LSTM, 33,278 words, 20 x 35 a GPU)",
        sets=[dict(name="lm", floats=7_332_080, end=1.0, overlap=2 / 3, tensors=[
            ("decoder.bias", 33_278, 0.0),
            ("rnn layer 1", 321_600, 0.8),
            ("rnn layer 0", 321_600, 0.9),
            ("encoder.weight (tied: final after the embedding's backward)", 6_655_600, 1.0)])]),
    "dcgan": dict(
        title="DCGAN, jobs/dcgan_cifar10.job (ngf = ndf = 64, 64 x 64, 64 images a GPU)",
        sets=[dict(name="D", floats=2_765_568, end=447 / 767, overlap=127 / 767,
                   tensors=[("netD", 2_765_568, 0.5)]),
              dict(name="G", floats=3_576_704, end=1.0, overlap=129 / 767,
                   tensors=[("netG", 3_576_704, 0.5)])]),
}

# ASSUMED: the per-GPU step times the tables sweep until a GPU run measures one (PLACEHOLDER).
SWEEP_MS = (5.0, 20.0, 100.0)
GPU_COUNTS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def allreduce_us(nbytes, n, per_node, intra, net):
    """One all-reduce of nbytes over n GPUs (per_node to a node): the faster of NCCL's ring
    and tree, in microseconds, and which."""
    if n == 1:
        return 0.0, "-"
    nodes = max(1, math.ceil(n / per_node))
    ppn = min(n, per_node)
    busbw = intra if nodes == 1 else min(intra, net)  # GB/s = 1e3 bytes/us
    # Ring: 2(n-1) steps, 2(nodes-1) of them over the network.
    steps, net_steps = 2 * (n - 1), 2 * (nodes - 1)
    lat = 8.4 + (steps - net_steps) * 3.4 + net_steps * 9.6
    if nodes > 1 and nbytes >= n / 16 * 65536:
        lat *= 1.9
    ring = lat + nbytes * (2 * (n - 1) / n) / (busbw * 1e3)
    # Tree: up and down within the node and across a binary tree of nodes.
    tree_bw = min(busbw * 0.9, 80.0 if nodes > 2 else 110.0) * 0.5
    tree = 2 * ((ppn - 1) * 28 + math.ceil(math.log2(nodes)) * 50) + nbytes / (tree_bw * 1e3)
    return (ring, "ring") if ring <= tree else (tree, "tree")


def step_ms(wl, n, gpu, t_ms, bucket_mb):
    """Step time (ms) on n GPUs when one GPU computes a step in t_ms, with the all-reduce time
    of a step (ms) and the algorithm of its last bucket. Each set's buckets are reduced one
    after another as their tensors become final during its backward window; its optimizer
    waits for the last one, and whatever did not hide pushes the rest of the step back."""
    g = GPUS[gpu]
    bucket = bucket_mb * 2**20
    shift, busy, total, algo = 0.0, 0.0, 0.0, "-"
    for s in wl["sets"]:
        w1 = s["end"] * t_ms + shift
        w0 = w1 - s["overlap"] * t_ms
        buckets, pending, ready_at = [], 0, w0
        for _, floats, ready in s["tensors"]:
            nbytes, ready_at = floats * 4, w0 + ready * (w1 - w0)
            while nbytes > 0:
                take = min(nbytes, bucket - pending)
                pending, nbytes = pending + take, nbytes - take
                if pending >= bucket:
                    buckets.append((pending, ready_at))
                    pending = 0
        if pending:
            buckets.append((pending, ready_at))
        for nbytes, ready_at in buckets:
            us, algo = allreduce_us(nbytes, n, g["per_node"], g["intra"], g["net"])
            busy = max(ready_at, busy) + us / 1e3
            total += us / 1e3
        shift += max(0.0, busy - w1)
    return t_ms + shift, total, algo


def needed_ms(wl, n, gpu, bucket_mb, target=0.9):
    """The per-GPU step time above which n GPUs reach the target efficiency."""
    lo, hi = 1e-3, 1e5
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        t, _, _ = step_ms(wl, n, gpu, mid, bucket_mb)
        if mid / t >= target:
            hi = mid
        else:
            lo = mid
    return hi


def table(name, gpu, step, bucket_mb):
    wl = WORKLOADS[name]
    g = GPUS[gpu]
    print(f"### {wl['title']}: {g['title']}\n")
    cols = [f"E at {t:g} ms" for t in step] if step else [f"E at {t:g} ms (PLACEHOLDER)" for t in SWEEP_MS]
    sweep = step or SWEEP_MS
    print("| GPUs | nodes | all-reduce (ms/step) | algorithm | " + " | ".join(cols) +
          " | step for 90% (ms) |")
    print("|---:|---:|---:|---|" + "---:|" * len(cols) + "---:|")
    for n in GPU_COUNTS:
        nodes = max(1, math.ceil(n / g["per_node"]))
        effs = []
        for t in sweep:
            s, comm, algo = step_ms(wl, n, gpu, t, bucket_mb)
            effs.append(f"{100 * t / s:.1f}%")
        need = f"{needed_ms(wl, n, gpu, bucket_mb):.2f}" if n > 1 else "-"
        print(f"| {n} | {nodes} | {comm:.3f} | {algo} | " + " | ".join(effs) + f" | {need} |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=sorted(WORKLOADS) + ["all"], default="all")
    ap.add_argument("--gpu", choices=sorted(GPUS) + ["all"], default="all")
    ap.add_argument("--step-ms", type=float, action="append",
                    help="a measured per-GPU step time (ms); repeatable; default: the placeholder sweep")
    ap.add_argument("--bucket-mb", type=float, default=25.0, help="genet's bucket_mb (default 25)")
    ap.add_argument("--busbw-intra", type=float,
                    help="measured all-reduce bus bandwidth within a node, GB/s (nccl-tests all_reduce_perf)")
    ap.add_argument("--busbw-net", type=float, help="measured bus bandwidth across nodes, GB/s")
    ap.add_argument("--sources", action="store_true", help="print the published figures' sources")
    a = ap.parse_args()
    for wl in WORKLOADS.values():  # the tensors add up to genet's buffer, less its padding
        for s in wl["sets"]:
            n = sum(t[1] for t in s["tensors"])
            assert 0 <= s["floats"] - n < 16 * len(s["tensors"]), (s["name"], n, s["floats"])
    for g in GPUS.values():
        g["intra"] = a.busbw_intra or g["intra"]
        g["net"] = a.busbw_net or g["net"]
    for name in (sorted(WORKLOADS) if a.workload == "all" else [a.workload]):
        for gpu in (sorted(GPUS) if a.gpu == "all" else [a.gpu]):
            table(name, gpu, a.step_ms, a.bucket_mb)
    if a.sources:
        for k, v in SOURCES.items():
            print(f"- {k}: {v}")


if __name__ == "__main__":
    main()
