#!/usr/bin/python3
"""pytorch/examples fast_neural_style on random tensors, the PyTorch side of
scripts/bench/fast_style.sh: one training step (TransformerNet, VGG16 to relu4_3 with random
weights, content at relu2_2, Grams at four taps, Adam) at --size with --batch images, and the
stylize forward pass (torch.no_grad) of one --stylize-size image. Prints
`torch train_ms MEAN` and `torch stylize_ms MEAN`: means over --steps after --warmup (2)
warm-up calls, and torchside.py's `result fast_style_train ...` / `result fast_style_stylize
...` lines for scripts/bench/all.sh (--what one of them in a process of its own: its peak RSS).
Under /usr/bin/python3 (Debian's PyTorch 1.13) or build/bench-venv/bin/python (PyTorch 2.x;
--compile: torch.compile of TransformerNet and of the VGG16 taps).
"""
import argparse
import os
import sys
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fx_fast_style import gram_matrix as gram, taps  # noqa: E402  (the parity fixture's loss pieces)
from fx_transformer import TransformerNet  # noqa: E402  (pytorch/examples' network)
import torchside  # noqa: E402

CFG_D = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512]  # VGG16 to relu4_3


def vgg16():
    layers, cin = [], 3
    for v in CFG_D:
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2, 2))
        else:
            layers += [torch.nn.Conv2d(cin, v, 3, padding=1), torch.nn.ReLU(inplace=True)]
            cin = v
    net = torch.nn.Sequential(*layers)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def norm(b):
    mean = b.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = b.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    return (b / 255.0 - mean) / std


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--stylize-size", type=int, default=512)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--what", default="train,stylize")
    torchside.add_args(ap)
    a = ap.parse_args()
    what = a.what.split(",")
    a.result_names = [f"fast_style_{w}" for w in what]
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net, vgg = TransformerNet(32), vgg16()
    print(torchside.config_line())
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    style = torch.rand(1, 3, a.size, a.size) * 255
    gs = [gram(f) for f in taps(vgg, norm(style.repeat(a.batch, 1, 1, 1)))]
    x = torch.rand(a.batch, 3, a.size, a.size) * 255
    cnet = torchside.maybe_compile(a, net)
    ctaps = torchside.maybe_compile(a, lambda b: taps(vgg, norm(b)))

    def step():
        opt.zero_grad()
        y = cnet(x)
        fy, fx = ctaps(y), ctaps(x)
        loss = 1e5 * torch.nn.functional.mse_loss(fy[1], fx[1])
        for f, g in zip(fy, gs):
            loss = loss + 1e10 * torch.nn.functional.mse_loss(gram(f), g)
        loss.backward()
        opt.step()

    img = torch.rand(1, 3, a.stylize_size, a.stylize_size) * 255

    def stylize():
        with torch.no_grad():
            cnet(img).clamp(0, 255)

    for name, fn in (("train", step), ("stylize", stylize)):
        if name not in what:
            continue
        torchside.warm_up(a, fn, a.warmup)
        t = torchside.timed(fn, a.steps)
        print(f"torch {name}_ms {sum(t) / len(t):.1f} (fastest {min(t):.1f}; torch {torch.__version__})")
        torchside.result(f"fast_style_{name}", t)


if __name__ == "__main__":
    main()
