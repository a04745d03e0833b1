#!/usr/bin/python3
"""PyTorch check of jobs/lm_demo.job, run whole: pytorch/examples word_language_model's main.py
loop (train over the bptt windows with the hidden state carried and detached, clip, SGD; validate
at each epoch end, keep the best model, lr / 4 when validation does not improve; test perplexity
of the best model) with the demo job's settings, on the same HDF5 file `genet prepare text` wrote
(its int32 `train`, `valid`, `test` token ids). Prints each epoch's validation perplexity, the
test perplexity and the loop's wall time (scripts/bench/all.sh times the whole process; a
torch.compile failure prints `result lm_demo failed compile` for it).
Usage: PYTHON scripts/bench/lm_demo_torch.py data/synthetic-text.h5 [--epochs 6] [--threads 2]
           [--emsize 64] [--nhid 64] [--batch 20] [--eval-batch 10] [--bptt 35] [--lr 20]
           [--clip 0.25] [--dropout 0] [--seed 1] [--compile]
PYTHON: /usr/bin/python3 (Debian's PyTorch 1.13) or build/bench-venv/bin/python (PyTorch 2.x).
"""
import argparse
import math
import os
import sys
import time

import h5py
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fx_lm import RNNModel, batchify, get_batch  # noqa: E402  (the reference model, shared with the parity fixture)
import torchside  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    ap.add_argument("--emsize", type=int, default=64)
    ap.add_argument("--nhid", type=int, default=64)
    ap.add_argument("--nlayers", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--eval-batch", type=int, default=10)
    ap.add_argument("--bptt", type=int, default=35)
    ap.add_argument("--lr", type=float, default=20.0)
    ap.add_argument("--clip", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1)
    torchside.add_args(ap)
    a = ap.parse_args()
    a.result_names = ["lm_demo"]
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t_start = time.perf_counter()
    with h5py.File(a.data, "r") as f:
        ntokens = int(f["vocab_size"][()])
        split = {k: torch.from_numpy(f[k][()].astype("int64")) for k in ("train", "valid", "test")}
    train = batchify(split["train"], a.batch)
    valid, test = batchify(split["valid"], a.eval_batch), batchify(split["test"], a.eval_batch)
    print(torchside.config_line())
    print(f"vocabulary {ntokens}, tokens train {len(split['train'])} valid {len(split['valid'])} "
          f"test {len(split['test'])}; tied {a.nlayers} x {a.nhid}, emsize {a.emsize}, dropout {a.dropout}; "
          f"batch {a.batch}, bptt {a.bptt}, lr {a.lr}, clip {a.clip}; {a.epochs} epochs; threads "
          f"{torch.get_num_threads()}; load average {os.getloadavg()[0]:.2f}")
    model = RNNModel(ntokens, a.emsize, a.nhid, a.nlayers, a.dropout, tie_weights=True)
    fwd = torchside.maybe_compile(a, model)
    crit = nn.CrossEntropyLoss()

    def windows(src):
        for i in range(0, src.size(0) - 1, a.bptt):
            yield get_batch(src, i, a.bptt)

    def evaluate(src, bsz):
        model.eval()
        total, hidden = 0.0, model.init_hidden(bsz)
        with torch.no_grad():
            for data, targets in windows(src):
                out, hidden = fwd(data, hidden)
                total += len(data) * crit(out, targets).item()
        return total / (src.size(0) - 1)

    lr, best, best_state = a.lr, None, None
    t_loop = time.perf_counter()
    for epoch in range(a.epochs):
        model.train()
        hidden = model.init_hidden(a.batch)
        try:
            for data, targets in windows(train):
                hidden = tuple(h.detach() for h in hidden)
                model.zero_grad()
                out, hidden = fwd(data, hidden)
                crit(out, targets).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
                with torch.no_grad():
                    for p in model.parameters():
                        p.add_(p.grad, alpha=-lr)
        except Exception as e:  # torch.compile fails at its first call
            if not a.compile:
                raise
            torchside.compile_failed(a, e)
        val = evaluate(valid, a.eval_batch)
        print(f"epoch {epoch} valid ppl {math.exp(val):.2f} lr {lr:g}")
        if best is None or val < best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
        else:
            lr /= 4.0
    model.load_state_dict(best_state)
    test_ppl = math.exp(evaluate(test, a.eval_batch))
    loop_s = time.perf_counter() - t_loop
    print(f"test ppl {test_ppl:.2f} (best validation ppl {math.exp(best):.2f})")
    print(f"loop {loop_s:.1f} s, whole script after imports {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    main()
