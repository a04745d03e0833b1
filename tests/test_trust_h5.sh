#!/usr/bin/env bash
# What genet does with checkpoints it did not write, or that a run could not have written: each
# is refused with one line naming the file and the key, exit non-zero, nothing on disk changed.
#   a forged .sum (a checksum anyone can compute) does not switch off the libhdf5 memory guard;
#   a job value that would not read back from meta/job (a newline, '#') is refused at the start,
#     and a meta/job that cannot be read refuses the resume instead of skipping its checks;
#   a checkpoint of a newer format is refused, not skipped as damaged and later overwritten;
#   NaN, inf or negative state (optim/lr, L-BFGS t and H_diag, the style image, train/evals);
#   a run whose loss or weights become non-finite stops, keeping the last good checkpoint;
#   `genet generate` on a checkpoint without params, vocab or job: one line, and (under the
#     sanitizers) no leak.
# Hostile files are edited copies of real ones (h5py), their .sum recomputed as genet does.
# Usage: test_trust_h5.sh GENET SRC_DIR
set -euo pipefail
genet=$1
src=$2
py=/usr/bin/python3
. "$(dirname "$0")/testlib.sh"
"$py" -c 'import h5py, numpy' || fail "needs h5py and numpy in $py (install-deps --test)"

# forge.py FILE [KEY VALUE]...: sets each dataset KEY (float, int or string, same kind as
# before; "DEL" deletes it, "SHAPE:n" makes it float32 zeros of shape (n)), then rewrites
# FILE.sum with the hash src/data/h5safe.c computes (genet-hash64).
cat > forge.py <<'PY'
import sys, h5py, numpy as np
M = (1 << 64) - 1
P1, P2 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F
def rotl(x, r): return ((x << r) | (x >> (64 - r))) & M
def genet_hash64(data):
    h = 0x27D4EB2F165667C5
    pad = data + b"\0" * (-len(data) % 8)
    for (w,) in np.frombuffer(pad, dtype="<u8").reshape(-1, 1).tolist():
        h = (rotl(h ^ (w * P2 & M), 31) * P1) & M
    h ^= len(data); h ^= h >> 33; h = h * P2 & M; h ^= h >> 29
    return h
path, kv = sys.argv[1], sys.argv[2:]
if kv:
    with h5py.File(path, "r+") as f:
        for k, v in zip(kv[::2], kv[1::2]):
            old = f[k] if k in f else None
            kind = old.dtype.kind if old is not None else "S"
            if k in f: del f[k]
            if v == "DEL": continue
            if v.startswith("SHAPE:"): f[k] = np.zeros(int(v[6:]), np.float32)
            elif kind == "f" and old.shape == (): f[k] = np.float64(v)
            elif kind == "f": a = np.zeros(old.shape, old.dtype); a.flat[0] = float(v); f[k] = a
            elif kind in "iu": f[k] = np.int64(v)
            else: f[k] = np.bytes_(v.encode().decode("unicode_escape").encode())
data = open(path, "rb").read()
open(path + ".sum", "w").write("genet-hash64 %016x %d\n" % (genet_hash64(data), len(data)))
PY
forge() { "$py" forge.py "$@"; }
listing() { (cd "$1" && ls -A && cat ./*.sum latest); }
# refused NAME WANT CMD...: exit 1 or 2 within 60 s, one line on stderr matching WANT (an ERE)
refused() {
  local name=$1 want=$2 out rc=0; shift 2
  out=$(timeout -s KILL 60 "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = 1 ] || [ "$rc" = 2 ] || fail "$name: exit $rc (want 1 or 2), stderr: $out"
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$name: not one line: $out"
  printf '%s' "$out" | grep -qE "$want" || fail "$name: stderr '$out' does not say '$want'"
  pass "$name"
}
# Under ASan a virtual-memory limit breaks the sanitizer itself; elsewhere it keeps a
# regression from taking the machine's memory (the probe's child stops at 256 MB).
# (Not `ldd | grep -q`: under pipefail, grep's early exit can make ldd's SIGPIPE the status.)
asan=0
case $(ldd "$genet" 2> /dev/null) in *libasan*) asan=1 ;; esac

# ---- a language model trained in a few steps: 40 steps an epoch, best.h5 at the epoch's end
tiny_text_data
printf 'task = lm\ndata = data.h5\nemsize = 8\nnhid = 8\nnlayers = 1\nbatch = 10\nbptt = 10\nepochs = 1\nthreads = 1\n' > job
"$genet" train job checkpoint_dir=G out_dir=oG max_steps=20 checkpoint_every=10 > g.log || fail "training the good run"
"$genet" train job checkpoint_dir=B out_dir=oB > b.log || fail "training the run with best.h5"
[ -f B/best.h5 ] || fail "no best.h5"
last=G/ckpt_0000000020.h5

# ---- defect 2: a forged .sum beside the libhdf5 out-of-memory file
cp "$src/tests/fixtures/hdf5_oom.h5" x.h5
forge x.h5
oom='x.h5: unreadable HDF5 file \(libhdf5 needed more than [0-9]+ MB'
lim() { [ $asan = 1 ] || ulimit -v 8000000; }  # in a subshell: 8 GB of address space
(lim; refused "inspect: forged .sum, probe still runs" "$oom" "$genet" inspect x.h5)
(lim; refused "train: forged .sum on the data" "$oom" "$genet" train job data=x.h5 checkpoint_dir=c2 out_dir=o2)
mkdir -p F && cp x.h5 F/ckpt_0000000009.h5 && cp x.h5.sum F/ckpt_0000000009.h5.sum
out=$(lim; timeout -s KILL 60 "$genet" train job checkpoint_dir=F out_dir=oF max_steps=1 2>&1) && rc=0 || rc=$?
[ $rc = 1 ] && printf '%s' "$out" | grep -qE "skipping damaged checkpoint: F/ckpt_0000000009.h5: unreadable HDF5 file \(libhdf5 needed more than" ||
  fail "train: forged checkpoint .sum: rc=$rc: $out"
pass "train: forged .sum on a checkpoint, refused by the probe"

# ---- defect 7: values that would not round-trip through meta/job are refused before any work
refused "a newline in checkpoint_dir" "checkpoint_dir: the value holds a line break" "$genet" train job checkpoint_dir=$'ck\nx' out_dir=o7
refused "a '#' in out_dir" "out_dir: the value holds .*'#'" "$genet" train job checkpoint_dir=c7 out_dir='o#7'
refused "a trailing space in data" "cannot start or end with a space" "$genet" train job 'data=data.h5 '
[ ! -e $'ck\nx' ] && [ ! -e c7 ] && [ ! -e 'o#7' ] || fail "a refused job created directories"
# An unreadable meta/job refuses the resume (it used to skip the checks, accepting bptt = 20).
for bad in 'no key value here' ''; do
  rm -rf J && cp -r G J
  forge J/ckpt_0000000020.h5 meta/job "$bad"
  listing J > j.list
  refused "resume: meta/job '$bad'" "cannot resume from J/ckpt_0000000020.h5: its meta/job cannot be read" \
    "$genet" train job checkpoint_dir=J out_dir=oJ bptt=20
  listing J | cmp -s - j.list || fail "resume with a bad meta/job changed J"
done

# ---- weak spot 1: a newer format is refused, and the directory is left alone
rm -rf N && cp -r G N
forge N/ckpt_0000000020.h5 meta/format_version 3
listing N > n.list
refused "resume: format 3" "N/ckpt_0000000020.h5: written by a newer genet \(format 3" \
  "$genet" train job checkpoint_dir=N out_dir=oN max_steps=40
listing N | cmp -s - n.list || fail "a newer checkpoint was touched"
cp "$last" new.h5 && forge new.h5 meta/format_version 3
refused "generate: format 3" "written by a newer genet \(format 3" "$genet" generate new.h5 words=5

# ---- weak spot 2: non-finite or negative state in a file, refused naming the key
bad_state() {  # bad_state NAME WANT KEY VALUE...: a copy of the last checkpoint, resumed by path
  local name=$1 want=$2; shift 2
  cp "$last" s.h5 && forge s.h5 "$@"
  refused "$name" "$want" "$genet" train job checkpoint_dir=S out_dir=oS resume=s.h5 max_steps=30
}
bad_state "lm: optim/lr = NaN" "s.h5: optim/lr = nan, expected" optim/lr nan
bad_state "lm: optim/lr = inf" "s.h5: optim/lr = inf, expected" optim/lr inf
bad_state "lm: an inf weight" "s.h5: dataset 'params/encoder.weight' holds inf at index 0" params/encoder.weight inf
bad_state "lm: a NaN weight" "s.h5: dataset 'params/decoder.bias' holds NaN at index 0" params/decoder.bias nan
bad_state "lm: train/log_batches = -5" "s.h5: train/log_batches = -5, expected at least 0" train/log_batches -5
# The style task's L-BFGS state and image (fixtures' tiny VGG, a 40 px image, 6 evaluations).
fx=$src/tests/fixtures
printf 'task = style\ncontent = %s\nstyle = %s\nvgg = %s\nsize = 40\nmax_evals = 6\nmax_iter = 2\nhistory = 4\ncheckpoint_every = 1\nthreads = 1\n' \
  "$fx/image_rgb.jpg" "$fx/image_palette.png" "$fx/vgg_tiny_weights.h5" > sjob
"$genet" train sjob checkpoint_dir=T out_dir=oT max_steps=2 > t.log || { cat t.log; fail "style run"; }
sbad() {
  local name=$1 want=$2; shift 2
  cp T/ckpt_0000000002.h5 s.h5 && forge s.h5 "$@"
  refused "$name" "$want" "$genet" train sjob checkpoint_dir=S2 out_dir=oS2 resume=s.h5
}
sbad "style: L-BFGS t = NaN" "s.h5: optim/lbfgs/t = nan, expected" optim/lbfgs/t nan
sbad "style: L-BFGS H_diag = inf" "s.h5: optim/lbfgs/H_diag = inf, expected" optim/lbfgs/H_diag inf
sbad "style: a NaN image" "s.h5: dataset 'state/image' holds NaN" state/image nan
sbad "style: train/evals = -5" "s.h5: train/evals = -5, expected at least 0" train/evals -5

# ---- weak spot 2: a diverging run stops at once, the last good checkpoint kept (style with a
# huge L-BFGS step overflows the image within a step or two; the LM's lr is capped too low)
rm -rf D && cp -r T D
refused "style: lr = 1e9 diverges" "^genet: step [0-9]+: (the loss is (nan|inf|-inf)|parameter .* became non-finite).*checkpoints in D are kept" \
  "$genet" train sjob checkpoint_dir=D out_dir=oD lr=1e9 max_evals=40 checkpoint_every=1
# The good step(s) before the divergence may add checkpoints; none may hold a NaN or inf, and
# the ones there before stay as they were.
for f in T/ckpt_*.h5; do cmp -s "$f" "D/${f#T/}" || [ ! -e "D/${f#T/}" ] || fail "the diverged run rewrote $f"; done
"$py" - D/ckpt_*.h5 <<'PY' || fail "the diverged run wrote a non-finite checkpoint"
import sys, h5py, numpy as np
bad = []
for p in sys.argv[1:]:
    with h5py.File(p, "r") as f:
        f.visititems(lambda k, d: bad.append(p + ":" + k) if isinstance(d, h5py.Dataset) and
                     d.dtype.kind == "f" and k != "train/best_val_loss" and not np.isfinite(d[()]).all() else None)
sys.exit("non-finite: " + " ".join(bad) if bad else 0)
PY
pass "the diverged run left only finite checkpoints"

# ---- defect 8 and weak spot 3: generate on a checkpoint lacking params, vocab or job. Under
# the sanitizers a leak on these paths turns the exit status into LeakSanitizer's.
gen_bad() {
  local name=$1 want=$2; shift 2
  cp B/best.h5 bad.h5 && forge bad.h5 "$@"
  refused "generate: $name" "$want" "$genet" generate bad.h5 words=5
}
gen_bad "no params" "bad.h5: no dataset params/encoder.weight" params/encoder.weight DEL
gen_bad "a wrong-shape param" "bad.h5: .*params/decoder.bias" params/decoder.bias SHAPE:3
gen_bad "no vocab" "^genet: bad.h5: missing dataset 'vocab'$" vocab DEL
gen_bad "a one-word vocab" "^genet: bad.h5: vocab: vocabulary of 1 words" vocab 'word'
gen_bad "an empty meta/job" "bad.h5: its meta/job cannot be read: missing required key 'task'" meta/job ''
cp B/best.h5 ok.h5
refused "generate: a prompt word not in the vocabulary" "not in the model's vocabulary" "$genet" generate ok.h5 words=5 prompt=zzzunknownzzz
"$genet" generate ok.h5 words=5 > /dev/null || fail "generate on the good best.h5"
pass "generate on the good best.h5"
