#!/usr/bin/env bash
# The DCGAN demo's path: `genet prepare synthetic-glyphs` and `image_size = 32`.
#   the glyph file: prepare's line, bad sizes refused in one line (the contents, and the same
#     seed giving the same images, are checked in test_prepare: the files themselves differ
#     in HDF5's object timestamps);
#   image_size = 32: the networks have the reference's layers less the widest (counted below),
#     the log names 32x32, the grids are 8 x 8 images of 32 px (274 x 274),
#     genet sample draws 32 px images from its checkpoint; image_size = 48 refused in one line;
#   that the demo's settings learn (SWD at most half the untrained generator's) is checked on the
#     demo itself, by tests/test_demo.sh.
# Usage: test_dcgan_glyphs.sh GENET
set -euo pipefail
genet=$1
. "$(dirname "$0")/testlib.sh"

"$genet" prepare synthetic-glyphs a.h5 n=640 size=32 seed=3 > a.out
grep -q "train 640 images, test 128 images of digits 0-9, uint8 (N, 3, 32, 32)" a.out || { cat a.out; fail "prepare's line"; }
st=0
"$genet" prepare synthetic-glyphs x.h5 size=2 > x.out 2> x.err || st=$?
[ "$st" = 2 ] && [ "$(wc -l < x.err)" -eq 1 ] && grep -q "synthetic-glyphs: n = 2000, size = 2" x.err || { cat x.err; fail "size=2: status $st"; }
[ ! -e x.h5 ] || fail "size=2 wrote a file"
pass "synthetic-glyphs: written, bad sizes refused"

cat > job <<'JOB'
task = dcgan
data = a.h5
image_size = 32
nz = 32
ngf = 16
ndf = 16
batch = 64
epochs = 1
log_interval = 100
sample_every = 0
threads = 2
checkpoint_every = 100000
swd = false
JOB
size() {  # FILE W H: the PNG header's width and height
  read -r -a b <<< "$(od -An -tu1 -j16 -N8 "$1")"
  local w=$(( (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3] )) h=$(( (b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7] ))
  [ "$w" -eq "$2" ] && [ "$h" -eq "$3" ] || fail "$1 is ${w}x${h}, expected $2x$3"
}
"$genet" train job lr=1e-12 checkpoint_dir=U out_dir=U > u.log
grep -q "640 images 32x32 -> 32x32, 10 batches of 64" u.log || { cat u.log; fail "no 32x32 line"; }
# G: ConvT 32->64 (32*64*16) BN(64) ConvT 64->32 BN(32) ConvT 32->16 BN(16) ConvT 16->3, BN two
# floats a channel; D: Conv 3->16, 16->32 BN(32), 32->64 BN(64), 64->1. (PyTorch counts the same.)
g=$((32*64*16 + 128 + 64*32*16 + 64 + 32*16*16 + 32 + 16*3*16)) d=$((3*16*16 + 16*32*16 + 64 + 32*64*16 + 128 + 64*16))
grep -q "| G: $g floats, D: $d floats" u.log || { grep '| G:' u.log; fail "expected G $g, D $d floats"; }
size U/real_samples.png 274 274
size U/fake_samples_epoch_000.png 274 274
"$genet" sample U/ckpt_0000000010.h5 n=16 out=U/s.png > /dev/null && size U/s.png 274 70
pass "image_size = 32: grids and genet sample of 32 px images"
st=0
"$genet" train job image_size=48 checkpoint_dir=X out_dir=X > x.out 2> x.err || st=$?
[ "$st" != 0 ] && [ "$(wc -l < x.err)" -eq 1 ] && grep -q "image_size = 48: expected 64 or 32" x.err || { cat x.err; fail "image_size=48: status $st"; }
pass "image_size = 48 refused"

echo "all passed"
