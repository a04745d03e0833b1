#!/usr/bin/python3
"""Writes a PyTorch state_dict as HDF5 weights genet can start from (job key
`init_weights = OUT.h5`); the layout is docs/CHECKPOINTS.md's, without optimizer/loop state:

    params/<state_dict key>   float32, the PyTorch shape
    buffers/<key>             BatchNorm running_mean/running_var float32, num_batches_tracked int64
    meta/format_version       int64
    meta/job                  string: "# weights converted from FILE", "task = TASK"
                              (and "tied = true|false" for task = lm)

For task = lm the decoder is tied when decoder.weight is absent or equal to encoder.weight;
then only encoder.weight is written, as genet's own checkpoints do.

Usage: /usr/bin/python3 scripts/torch_to_h5.py STATE_DICT.pt OUT.h5 --task lm|dcgan|style|fast_style
       [--unsafe-pickle]  (load a file that pickles more than tensors, e.g. a whole model;
                           only for files you trust: unpickling runs code)
"""
import argparse
import os
import sys

import h5py
import numpy as np
import torch

FORMAT_VERSION = 1
BUFFER_LEAVES = ("running_mean", "running_var", "num_batches_tracked")


def fail(msg):
    sys.exit(f"torch_to_h5: {msg}")


def load(path, unsafe):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not unsafe)
    except Exception as e:  # noqa: BLE001
        hint = "" if unsafe else (" (if it pickles a whole model, save model.state_dict() "
                                  "instead, or pass --unsafe-pickle for a file you trust)")
        first = (str(e).strip().splitlines() or [""])[0][:160]
        fail(f"{path}: cannot load ({type(e).__name__}: {first}){hint}")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        fail(f"{path}: expected a state_dict (a dict of tensors), found {type(obj).__name__}")
    # DataParallel/DistributedDataParallel prefix every key with "module.".
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def fixed_str(s):
    """A fixed-length HDF5 string: genet's reader refuses variable-length ones."""
    return np.bytes_(s.encode())


def main():
    ap = argparse.ArgumentParser(description="PyTorch state_dict -> genet HDF5 weights")
    ap.add_argument("state_dict")
    ap.add_argument("out")
    ap.add_argument("--task", required=True, choices=["lm", "dcgan", "style", "fast_style"])
    ap.add_argument("--unsafe-pickle", action="store_true")
    a = ap.parse_args()

    sd = load(a.state_dict, a.unsafe_pickle)
    job = [f"# weights converted from {os.path.basename(a.state_dict)}", f"task = {a.task}"]
    if a.task == "lm":
        if "encoder.weight" not in sd:
            fail(f"{a.state_dict}: no encoder.weight: not a word_language_model RNNModel state_dict")
        dec = sd.get("decoder.weight")
        tied = dec is None or (dec.shape == sd["encoder.weight"].shape
                               and torch.equal(dec, sd["encoder.weight"]))
        job.append(f"tied = {'true' if tied else 'false'}")
        if tied:
            sd = {k: v for k, v in sd.items() if k != "decoder.weight"}
        print(f"torch_to_h5: language model, decoder {'tied to the encoder' if tied else 'untied'}")

    tmp = a.out + ".tmp"
    n = 0
    with h5py.File(tmp, "w") as f:
        f.create_dataset("meta/format_version", data=np.int64(FORMAT_VERSION))
        f.create_dataset("meta/job", data=fixed_str("\n".join(job) + "\n"))
        for k, v in sd.items():
            leaf = k.rsplit(".", 1)[-1]
            v = v.detach().cpu()
            if leaf == "num_batches_tracked":
                f.create_dataset(f"buffers/{k}", data=v.to(torch.int64).numpy())
            elif not v.is_floating_point():
                fail(f"{a.state_dict}: {k} has dtype {v.dtype}; genet's weights are float32")
            else:
                group = "buffers" if leaf in BUFFER_LEAVES else "params"
                f.create_dataset(f"{group}/{k}", data=v.to(torch.float32).contiguous().numpy())
                n += v.numel() if group == "params" else 0
    os.replace(tmp, a.out)
    print(f"torch_to_h5: wrote {a.out}: {len(sd)} tensors, {n} parameters; "
          f"start genet from it with `init_weights = {a.out}`")


if __name__ == "__main__":
    main()
