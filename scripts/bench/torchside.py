"""What the PyTorch references of scripts/bench/ share, under any Python and PyTorch version
(Debian's 1.13 at /usr/bin/python3, 2.x in build/bench-venv): the thread count, the optional
torch.compile (--compile), and the one machine-readable line scripts/bench/all.sh collects:

    result NAME ms MEAN median MEDIAN min MIN max MAX n N rss_mb PEAK threads T

(MEAN etc. over the timed calls of this process; PEAK the process's peak resident set,
getrusage). torch.compile compiles lazily, so a failure shows at the first (warm-up) call:
warm_up() catches it, prints one line saying so and `result NAME failed compile`, and exits 0,
so that the harness goes on with the other sides."""
import os
import re
import resource
import sys
import time

import torch


def add_args(ap):
    ap.add_argument("--compile", action="store_true",
                    help="torch.compile the model (PyTorch 2.x; inductor on the CPU)")


def threads(n):
    torch.set_num_threads(n)
    return n


def config_line():
    """One line: version, BLAS (torch.__config__ and the libraries mapped), the bundled oneDNN
    and the CPU capability PyTorch dispatches to, threads. The ISA oneDNN's JIT picked is
    printed by all.sh's probe (ONEDNN_VERBOSE), not here."""
    a = torch.randn(64, 64)
    a @ a  # load the BLAS
    cfg = torch.__config__.show()
    pick = lambda key: (re.search(key + r"=([^,\s]*)", cfg) or re.match("(.)", "?")).group(1)
    dnnl = next((l.strip(" -") for l in cfg.splitlines() if "MKL-DNN" in l or "oneDNN" in l), "no oneDNN")
    cap = next((l.split(":", 1)[1].strip() for l in cfg.splitlines() if "CPU capability" in l), "?")
    libs = sorted({l.split()[-1].rsplit("/", 1)[-1] for l in open("/proc/self/maps")
                   if ("blas" in l.lower() or "mkl" in l.lower()) and ".so" in l})
    return (f"PyTorch {torch.__version__} ({sys.executable}): BLAS_INFO={pick('BLAS_INFO')} "
            f"[.so with blas/mkl in the name mapped in the process, numpy's and CUDA's included: {', '.join(libs) or 'none'}]; {dnnl}, mkldnn enabled "
            f"{torch.backends.mkldnn.is_available()}; CPU capability {cap}; threads "
            f"{torch.get_num_threads()} (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}); "
            f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")


def maybe_compile(a, obj):
    """obj itself, or torch.compile(obj) with --compile."""
    if not a.compile:
        return obj
    if not hasattr(torch, "compile"):
        compile_failed(a, RuntimeError(f"torch.compile does not exist in PyTorch {torch.__version__}"))
    return torch.compile(obj)


def compile_failed(a, e):
    first = (str(e).strip().splitlines() or [""])[0][:200]
    print(f"torch.compile failed on the CPU here (PyTorch {torch.__version__}): {type(e).__name__}: {first}",
          flush=True)
    for name in a.result_names:
        print(f"result {name} failed compile", flush=True)
    sys.exit(0)


def warm_up(a, fn, n):
    """n calls of fn; with --compile at least 3 (the first compiles, and dynamo may recompile
    on the next ones: none of that is to fall in the timed calls), and a failure ends the
    process."""
    if a.compile:
        n = max(n, 3)
    try:
        for _ in range(n):
            fn()
    except Exception as e:  # noqa: BLE001  (inductor's failures come as many types)
        if not a.compile:
            raise
        compile_failed(a, e)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def timed(fn, n):
    """ms of each of n calls of fn."""
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        t.append(1e3 * (time.perf_counter() - t0))
    return t


def result(name, t):
    s = sorted(t)
    print(f"result {name} ms {sum(t) / len(t):.3f} median {s[len(s) // 2]:.3f} min {s[0]:.3f} "
          f"max {s[-1]:.3f} n {len(t)} rss_mb {peak_rss_mb():.0f} threads {torch.get_num_threads()} "
          f"omp {os.environ.get('OMP_NUM_THREADS', 'unset')}", flush=True)
