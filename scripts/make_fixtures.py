#!/usr/bin/python3
"""Writes tests/fixtures/*.h5: PyTorch's outputs and gradients for genet's layers, losses and
optimizers. Run with Debian's python3-torch and python3-h5py (/usr/bin/python3):

    /usr/bin/python3 scripts/make_fixtures.py            # all families
    /usr/bin/python3 scripts/make_fixtures.py linear     # one family

Each scripts/fixtures/fx_NAME.py has make(f) writing into tests/fixtures/NAME.h5. References are
computed in float64 from float32 inputs, then stored as float32, so the C tests measure genet's
own rounding. The fixtures are committed; CI does not need PyTorch.
"""
import glob
import importlib.util
import os
import sys

import h5py
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures")


def main():
    torch.set_num_threads(1)
    want = set(sys.argv[1:])
    os.makedirs(OUT, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(HERE, "fixtures", "fx_*.py"))):
        name = os.path.basename(path)[3:-3]
        if want and name not in want:
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.path.insert(0, os.path.join(HERE, "fixtures"))
        spec.loader.exec_module(mod)
        torch.manual_seed(0)
        dst = os.path.join(OUT, name + ".h5")
        tmp = dst + ".tmp"
        with h5py.File(tmp, "w") as f:
            f.attrs["torch_version"] = str(torch.__version__).encode()
            mod.make(f)
        os.replace(tmp, dst)
        print(f"wrote {os.path.relpath(dst)} ({os.path.getsize(dst)} bytes)")


if __name__ == "__main__":
    main()
