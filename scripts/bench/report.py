#!/usr/bin/python3
"""Joins the `NAME MS` outputs of genet and PyTorch into the table of docs/BENCHMARKS.md.
Usage: report.py CASES GENET_OUT TORCH_OUT"""
import sys

from cases import case_flops, parse_cases


def read(path):
    return {n: float(ms) for n, ms in (l.split() for l in open(path) if l.strip())}


def main():
    cases, g, t = parse_cases(sys.argv[1]), read(sys.argv[2]), read(sys.argv[3])
    print("| case | shape | genet ms | PyTorch ms | ratio (genet/PyTorch) | genet GFLOP/s | PyTorch GFLOP/s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    worst = 0.0
    for name, kind, args in cases:
        if name not in g or name not in t:
            print(f"| {name} | {kind} {' '.join(map(str, args))} | {g.get(name, '-')} | {t.get(name, '-')} | - | - | - |")
            continue
        fl = case_flops(kind, args)
        gf = lambda ms: f"{fl / ms / 1e6:.1f}" if fl else "-"
        r = g[name] / t[name]
        worst = max(worst, r)
        print(f"| {name} | {kind} {' '.join(map(str, args))} | {g[name]:.2f} | {t[name]:.2f} | {r:.2f} | {gf(g[name])} | {gf(t[name])} |")
    print(f"\nworst ratio: {worst:.2f}")


if __name__ == "__main__":
    main()
