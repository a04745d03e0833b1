#!/usr/bin/python3
"""Turns a genet checkpoint (or weights file) into a PyTorch state_dict file:

    /usr/bin/python3 scripts/h5_to_torch.py CKPT.h5 OUT.pt [--net netG|netD]

(--net picks one network of a DCGAN checkpoint, whose groups are params/netG/, params/netD/,
buffers/netG/, ...), then in PyTorch: model.load_state_dict(torch.load("OUT.pt"), strict=True).

Reads params/ and buffers/ (docs/CHECKPOINTS.md); optim/, train/, rng/ and state/ are ignored.
The keys come out in the order the reference model's state_dict has them: modules in
registration order (for the language model: encoder, rnn, decoder; Sequential children by
index), and inside a module its parameters (weight, bias; LSTM: weight_ih_lK, weight_hh_lK,
bias_ih_lK, bias_hh_lK layer by layer) before its buffers (running_mean, running_var,
num_batches_tracked). When meta/job says `task = lm` and `tied = true`, decoder.weight (not
stored by genet) is re-added as the same tensor as encoder.weight, as in a tied PyTorch model.
"""
import collections
import os
import re
import sys

import h5py
import torch

# Module names of the reference models in registration order (word_language_model's RNNModel
# registers drop, encoder, rnn, decoder); names not listed sort after these, alphabetically.
MODULE_ORDER = {"encoder": 0, "rnn": 1, "decoder": 2}
LEAF_ORDER = {"weight": 0, "bias": 1, "running_mean": 10, "running_var": 11,
              "num_batches_tracked": 12}
LSTM_LEAF = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$")
LSTM_KIND = {"weight_ih": 0, "weight_hh": 1, "bias_ih": 2, "bias_hh": 3}


def fail(msg):
    sys.exit(f"h5_to_torch: {msg}")


def sort_key(key):
    *path, leaf = key.split(".")
    k = []
    for p in path:
        k.append((0, int(p), "") if p.isdigit() else (1, MODULE_ORDER.get(p, 99), p))
    m = LSTM_LEAF.match(leaf)
    if m:
        leaf_k = (0, int(m.group(2)), 1 if m.group(3) else 0, LSTM_KIND[m.group(1)], "")
    else:
        leaf_k = (0, LEAF_ORDER.get(leaf, 5), 0, 0, leaf)
    # A module's own tensors come before its children's (PyTorch's state_dict does the same).
    return tuple(k) + ((-1,),) + (leaf_k,)


def read_job(f):
    if "meta/job" not in f:
        return {}
    raw = f["meta/job"][()]
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    job = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            k, v = line.split("=", 1)
            job[k.strip()] = v.strip()
    return job


def to_tensor(ds):
    return torch.from_numpy(ds[()]).clone() if ds.ndim else torch.tensor(ds[()])


def main():
    args = sys.argv[1:]
    net = None
    if len(args) == 4 and args[2] == "--net":
        net = args[3]
        args = args[:2]
    if len(args) != 2:
        sys.exit("usage: h5_to_torch.py CKPT.h5 OUT.pt [--net netG|netD]")
    src, dst = args
    try:
        f = h5py.File(src, "r")
    except OSError as e:
        fail(f"{src}: cannot open as HDF5 ({str(e).split('(')[0].strip()})")
    with f:
        if "params" not in f:
            fail(f"{src}: no params/ group: not a genet checkpoint or weights file")
        job = read_job(f)
        # A DCGAN checkpoint holds two networks (params/netG/, params/netD/); a weights file
        # torch_to_h5 wrote from one network's state_dict holds it flat.
        nets = [k for k in f["params"] if isinstance(f["params"][k], h5py.Group)]
        if job.get("task") == "dcgan" and net is None and nets:
            fail(f"{src}: a DCGAN checkpoint holds two networks: add --net {' or --net '.join(nets)}")
        tensors = {}
        for group in ("params", "buffers"):
            if net is not None:
                group = f"{group}/{net}"
            if group not in f:
                if net is not None and group.startswith("params"):
                    fail(f"{src}: no {group}/ group (networks: {', '.join(f['params'])})")
                continue

            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    tensors[name] = to_tensor(obj)
            f[group].visititems(visit)
        if job.get("task") == "lm" and job.get("tied", "false").lower() in ("true", "1", "yes"):
            if "encoder.weight" not in tensors:
                fail(f"{src}: job says tied = true but params/encoder.weight is missing")
            if "decoder.weight" in tensors:
                fail(f"{src}: job says tied = true but params/decoder.weight is stored too")
            tensors["decoder.weight"] = tensors["encoder.weight"]  # the same tensor, as tied
        sd = collections.OrderedDict((k, tensors[k]) for k in sorted(tensors, key=sort_key))
        step = int(f["meta/step"][()]) if "meta/step" in f else "?"
    tmp = dst + ".tmp"
    torch.save(sd, tmp)
    os.replace(tmp, dst)
    tied = " (decoder.weight tied to encoder.weight)" if "decoder.weight" in sd and \
        sd["decoder.weight"] is sd.get("encoder.weight") else ""
    print(f"h5_to_torch: wrote {dst}: {len(sd)} tensors{tied}; task {job.get('task', '?')}, "
          f"step {step}")


if __name__ == "__main__":
    main()
