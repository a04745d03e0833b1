#!/usr/bin/python3
"""Converts torchvision's VGG19 ImageNet weights (vgg19-dcbb9e9d.pth, a state_dict) into the
HDF5 file genet's style transfer reads:

    params/features.<i>.weight   float32 (out, in, 3, 3)   for the 16 convolutions of vgg19().features
    params/features.<i>.bias     float32 (out,)
    attrs: source (the .pth file name), sha256 (of the .pth), format ("torchvision vgg19 features")

Only `features` is kept (style transfer never uses the classifier). Every expected key and shape
is checked against torchvision's VGG19 configuration, so another file is refused with a clear
message. The output is written to OUT.tmp and renamed. Datasets are contiguous (unchunked,
uncompressed), as genet's HDF5 reader requires.

Usage: /usr/bin/python3 scripts/vgg19_to_h5.py vgg19-dcbb9e9d.pth OUT.h5   (needs torch, h5py)
"""
import hashlib
import os
import sys

import h5py
import numpy as np
import torch

# torchvision's configuration "E": channels per conv, "M" = max-pool (one index each in
# features; each conv is followed by a ReLU, which also takes an index).
CFG_E = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"]
# And "D", VGG16 (fast neural style's loss network; scripts/vgg16_to_h5.py).
CFG_D = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
ARCHS = {"vgg19": CFG_E, "vgg16": CFG_D}


def expected_shapes(arch="vgg19"):
    shapes, i, cin = {}, 0, 3
    for v in ARCHS[arch]:
        if v == "M":
            i += 1
            continue
        shapes[f"features.{i}.weight"] = (v, cin, 3, 3)
        shapes[f"features.{i}.bias"] = (v,)
        cin = v
        i += 2  # conv, relu
    return shapes


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_state_dict(path, prog="vgg19_to_h5"):
    try:
        try:
            sd = torch.load(path, map_location="cpu", weights_only=True)  # no pickled code
        except TypeError:  # torch < 1.13 has no weights_only
            sd = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same one line
        sys.exit(f"{prog}: {path}: cannot load as a PyTorch state_dict ({type(e).__name__}: {e})")
    if not isinstance(sd, dict):
        sys.exit(f"{prog}: {path}: expected a state_dict, found {type(sd).__name__}")
    return sd


def main(arch="vgg19"):
    prog, up = f"{arch}_to_h5", arch.upper()
    if len(sys.argv) != 3:
        sys.exit(f"usage: {prog}.py {up}.pth OUT.h5")
    src, dst = sys.argv[1], sys.argv[2]
    sd = load_state_dict(src, prog)
    want = expected_shapes(arch)
    for k, shape in want.items():
        if k not in sd:
            sys.exit(f"{prog}: {src}: key {k} missing: not torchvision's {up} "
                     f"(has {len(sd)} keys, e.g. {', '.join(list(sd)[:3])})")
        if tuple(sd[k].shape) != shape:
            sys.exit(f"{prog}: {src}: {k} has shape {tuple(sd[k].shape)}, expected {shape}")
    digest = sha256_of(src)
    tmp = dst + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["source"] = np.bytes_(os.path.basename(src))
        f.attrs["sha256"] = np.bytes_(digest)
        f.attrs["format"] = np.bytes_(f"torchvision {arch} features")
        g = f.create_group("params")
        for k in want:
            g.create_dataset(k, data=sd[k].detach().cpu().float().contiguous().numpy())
    os.replace(tmp, dst)
    n = sum(int(np.prod(s)) for s in want.values())
    print(f"{prog}: wrote {dst}: {len(want) // 2} convolutions, {n} parameters, "
          f"source {os.path.basename(src)} sha256 {digest}")


if __name__ == "__main__":
    main()
