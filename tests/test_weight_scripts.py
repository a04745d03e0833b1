#!/usr/bin/python3
"""Checks scripts/torch_to_h5.py and scripts/h5_to_torch.py with Debian's PyTorch (ctest
`weight_scripts`; `scripts/install-deps.sh --test` installs python3-torch and python3-h5py):

    /usr/bin/python3 tests/test_weight_scripts.py [GENET]    # GENET: default build/genet

- torch -> h5 -> torch is exact (same keys in the same order, bit-identical values, dtypes)
  for a tied and an untied word-language-model RNNModel and a DCGAN-style generator with
  BatchNorm buffers; a tied model's file stores encoder.weight only, and converting back gives
  decoder.weight as the same tensor as encoder.weight; the result loads into a fresh model
  with load_state_dict(strict=True) and gives the same output.
- h5_to_torch reads a checkpoint laid out as genet writes one (meta/step, meta/world_size,
  optim/, train/, rng/, state/ present and ignored).
- the files torch_to_h5 writes are what genet's C reader accepts: contiguous datasets,
  fixed-length strings (checked with h5py, and with `genet inspect`).
- bad input gives one line and a non-zero exit.
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "scripts")  # the two converters and scripts/fixtures/
sys.path.insert(0, os.path.join(HERE, "fixtures"))
GENET = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "genet")
from fx_lm import RNNModel  # noqa: E402  (pytorch/examples' model, as in the LM fixture)

PY = sys.executable
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args, expect_ok=True):
    p = subprocess.run([PY, *args], capture_output=True, text=True)
    if (p.returncode == 0) != expect_ok:
        print(p.stdout, p.stderr)
    return p


def generator():
    """DCGAN's generator at small widths: ConvT, BatchNorm, ReLU, ..., Tanh (nn.Sequential main)."""
    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(8, 12, 4, 1, 0, bias=False), nn.BatchNorm2d(12), nn.ReLU(True),
                nn.ConvTranspose2d(12, 6, 4, 2, 1, bias=False), nn.BatchNorm2d(6), nn.ReLU(True),
                nn.ConvTranspose2d(6, 3, 4, 2, 1, bias=False), nn.Tanh())

        def forward(self, x):
            return self.main(x)
    g = G()
    g.train()
    with torch.no_grad():
        for _ in range(3):  # non-trivial running statistics and num_batches_tracked = 3
            g(torch.randn(5, 8, 1, 1))
    g.eval()
    return g, lambda m: m(torch.randn(2, 8, 1, 1, generator=torch.Generator().manual_seed(1)))


def lm(tied):
    m = RNNModel(50, 16 if tied else 12, 16, 2, 0.0, tied).eval()
    tokens = torch.randint(0, 50, (7, 3), generator=torch.Generator().manual_seed(2))
    return m, lambda mm: mm(tokens, mm.init_hidden(3))[0]


def c_reader_ok(h5):
    """Contiguous datasets and fixed-length strings only (genet's reader refuses the rest)."""
    bad = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            if obj.chunks is not None or obj.compression is not None:
                bad.append(f"{name} chunked/filtered")
            if h5py.check_string_dtype(obj.dtype) and h5py.check_string_dtype(obj.dtype).length is None:
                bad.append(f"{name} variable-length string")
    with h5py.File(h5, "r") as f:
        f.visititems(visit)
    return bad


def round_trip(name, model, forward, task, tmp):
    ref = model.state_dict()
    pt, h5, back = (os.path.join(tmp, f"{name}{e}") for e in (".pt", ".h5", "_back.pt"))
    torch.save(ref, pt)
    run(os.path.join(HERE, "torch_to_h5.py"), pt, h5, "--task", task)
    run(os.path.join(HERE, "h5_to_torch.py"), h5, back)
    with h5py.File(h5, "r") as f:
        job = f["meta/job"][()].decode()
        check(int(f["meta/format_version"][()]) == 1, f"{name}: meta/format_version = 1")
        check(f"task = {task}" in job and "# weights converted from" in job,
              f"{name}: meta/job names the task and the source: {job!r}")
        stored = set(f["params"]) | set(f.get("buffers", {}))
        for k, v in ref.items():
            if k == "decoder.weight" and getattr(model, "decoder", None) is not None and \
                    model.decoder.weight is model.encoder.weight:
                continue
            grp = "buffers" if k.rsplit(".", 1)[-1] in ("running_mean", "running_var",
                                                        "num_batches_tracked") else "params"
            d = f[grp][k]
            want = np.int64 if v.dtype == torch.int64 else np.float32
            if d.dtype != want or d.shape != tuple(v.shape):
                check(False, f"{name}: {grp}/{k} is {d.dtype} {d.shape}")
    check(not c_reader_ok(h5), f"{name}: contiguous datasets, fixed-length strings {c_reader_ok(h5)}")
    sd = torch.load(back)
    check(list(sd.keys()) == list(ref.keys()),
          f"{name}: keys in the reference order ({len(sd)} keys)")
    check(all(torch.equal(sd[k], ref[k]) and sd[k].dtype == ref[k].dtype for k in ref),
          f"{name}: values and dtypes bit-identical")
    return sd, stored, h5


def main():
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        for tied in (True, False):
            name = "lm_tied" if tied else "lm_untied"
            m, fwd = lm(tied)
            sd, stored, h5 = round_trip(name, m, fwd, "lm", tmp)
            with h5py.File(h5, "r") as f:
                job = f["meta/job"][()].decode()
            check(f"tied = {'true' if tied else 'false'}" in job, f"{name}: job says tied = {tied}")
            check(("decoder.weight" in stored) == (not tied),
                  f"{name}: decoder.weight {'omitted' if tied else 'stored'}")
            if tied:
                check(sd["decoder.weight"] is sd["encoder.weight"],
                      f"{name}: decoder.weight is encoder.weight after conversion")
            fresh = RNNModel(50, 16 if tied else 12, 16, 2, 0.0, tied).eval()
            fresh.load_state_dict(sd, strict=True)
            check(torch.equal(fwd(fresh), fwd(m)), f"{name}: load_state_dict(strict=True), same output")
            if tied:
                check(fresh.decoder.weight is fresh.encoder.weight, f"{name}: still tied after loading")

        g, fwd = generator()
        sd, stored, h5 = round_trip("dcgan_g", g, fwd, "dcgan", tmp)
        fresh, _ = generator()
        fresh.load_state_dict(sd, strict=True)
        check(torch.equal(fwd(fresh), fwd(g)), "dcgan_g: load_state_dict(strict=True), same output")
        check(int(sd["main.1.num_batches_tracked"]) == 3, "dcgan_g: num_batches_tracked kept (3)")

        # Sequential indices sort as numbers (main.10 after main.2), as PyTorch orders them.
        import importlib.util
        spec = importlib.util.spec_from_file_location("h2t", os.path.join(HERE, "h5_to_torch.py"))
        h2t = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(h2t)
        seq = nn.Sequential(*[nn.BatchNorm2d(2) if i % 3 == 1 else nn.Conv2d(2, 2, 1) for i in range(12)])
        keys = list(seq.state_dict())
        check(sorted(reversed(keys), key=h2t.sort_key) == keys,
              f"sort_key orders a 12-module Sequential as PyTorch does ({len(keys)} keys)")

        # A checkpoint laid out as genet writes it: extra groups and meta entries are ignored.
        m, fwd = lm(True)
        ck = os.path.join(tmp, "ckpt_0000000100.h5")
        with h5py.File(ck, "w") as f:
            f["meta/format_version"] = np.int64(1)
            f["meta/step"] = np.int64(100)
            f["meta/world_size"] = np.int64(2)
            f["meta/genet_version"] = np.bytes_(b"0.1.0")
            f["meta/genet_commit"] = np.bytes_(b"abc1234")
            f["meta/job"] = np.bytes_(b"task = lm\nemsize = 16\nnhid = 16\ntied = true  # tie\n")
            for k, v in m.state_dict().items():
                if k != "decoder.weight":
                    f[f"params/{k}"] = v.numpy()
            f["optim/momentum/encoder.weight"] = np.zeros((50, 16), np.float32)
            f["train/epoch"] = np.int64(3)
            f["rng/rank0"] = np.zeros(4, np.uint64)
            f["state/hidden/h"] = np.zeros((2, 4, 16), np.float32)
        back = os.path.join(tmp, "ckpt.pt")
        p = run(os.path.join(HERE, "h5_to_torch.py"), ck, back)
        sd = torch.load(back)
        fresh = RNNModel(50, 16, 16, 2, 0.0, True).eval()
        fresh.load_state_dict(sd, strict=True)
        check(list(sd) == list(m.state_dict()) and torch.equal(fwd(fresh), fwd(m)),
              f"genet-layout checkpoint: other groups ignored, loads strictly ({p.stdout.strip()})")

        p = subprocess.run([GENET, "inspect", os.path.join(tmp, "lm_tied.h5")],
                           capture_output=True, text=True)
        check(p.returncode == 0 and 'meta/job' in p.stdout and '"# weights converted' in p.stdout,
              "genet inspect reads torch_to_h5's file (fixed-length meta/job)")

        # Bad input: one line on stderr, non-zero exit.
        p = run(os.path.join(HERE, "h5_to_torch.py"), os.path.join(tmp, "nope.h5"),
                os.path.join(tmp, "x.pt"), expect_ok=False)
        check(p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1,
              f"h5_to_torch on a missing file: {p.stderr.strip()}")
        whole = os.path.join(tmp, "whole_model.pt")
        torch.save(m, whole)
        p = run(os.path.join(HERE, "torch_to_h5.py"), whole, os.path.join(tmp, "w.h5"),
                "--task", "lm", expect_ok=False)
        check(p.returncode != 0 and "state_dict" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
              f"torch_to_h5 refuses a pickled whole model: {p.stderr.strip()[:150]}...")
        check(not os.path.exists(os.path.join(tmp, "w.h5")), "torch_to_h5: no output after an error")
    print("all passed" if not failures else f"{len(failures)} FAILED")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
