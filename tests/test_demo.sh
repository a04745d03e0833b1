#!/usr/bin/env bash
# make demo's script (scripts/demo.sh) with shortened settings (DEMO_QUICK=1: the LM 1 epoch, the
# DCGAN 8 of its 25 epochs, style 20 evaluations at 64 px), its outputs checked:
#   it ends with the listing, and every file the listing names is there;
#   the PNGs decode (Python's PIL, not genet's reader) at the sizes torchvision's rules give:
#     an 8 x 8 grid of 32 px images with 2 px padding is 8 * 34 + 2 = 274 square; the cat
#     (289 x 192) resized to a short side of 64 is 96 x 64;
#   the generated text is 80 tokens (words and line breaks for <eos>), each word one of the
#     training text;
#   each metrics.jsonl parses as JSON lines, with a start and a finished end record;
#   each report.html is a page that embeds its images;
#   the DCGAN learned: its last SWD is at most half that of the same job with lr = 1e-12 (G at
#     its initial weights);
#   run again, each run resumes, finds nothing left to do, and the listing comes back.
# Usage: test_demo.sh GENET SRC_DIR
set -euo pipefail
genet=$1
src=$2
. "$(dirname "$0")/testlib.sh"
py=/usr/bin/python3

demo() {  # LOG
  (cd "$src" && DEMO_QUICK=1 DEMO_DATA="$w/data" bash scripts/demo.sh "$genet" "$w/demo") > "$1" 2>&1 ||
    { tail -40 "$1"; fail "scripts/demo.sh failed (log above)"; }
}
demo d1.log
grep -q "^==== done in [0-9]* s (LM [0-9]* s, DCGAN [0-9]* s, style [0-9]* s; device [a-z]*, .*, [0-9]* cores): everything is in $w/demo/$" d1.log || { tail -30 d1.log; fail "no closing line"; }
for f in lm/generated.txt lm/report.html dcgan/samples.png dcgan/interpolations.png dcgan/report.html \
         style/result.png style/report.html; do
  grep -qF "$w/demo/$f" d1.log || fail "the listing does not name $f"
  [ -s "$w/demo/$f" ] || fail "$f: missing or empty"
done
ppl=$(sed -n 's/^language model   test perplexity \([0-9.]*\) (the text allows no less than \([0-9.]*\))$/\1 \2/p' d1.log)
[ -n "$ppl" ] || { grep -A1 "^language model" d1.log; fail "no perplexity and floor in the listing"; }
pass "the listing names every output and each is there (test ppl and floor: $ppl)"

$py - "$w/demo" "$w/data/synthetic-text/train.txt" << 'EOF'
import json, sys
from PIL import Image
d, train = sys.argv[1], sys.argv[2]
def check(ok, what):
    if not ok:
        print("FAIL:", what); sys.exit(1)
for f, size in [("dcgan/samples.png", (274, 274)), ("dcgan/interpolations.png", (274, 274)),
                ("dcgan/real_samples.png", (274, 274)), ("dcgan/fake_samples_epoch_007.png", (274, 274)),
                ("style/result.png", (96, 64))]:
    im = Image.open(f"{d}/{f}")
    im.load()
    check(im.size == size, f"{f}: {im.size}, expected {size}")
vocab = set(open(train).read().split()) | {"<eos>"}
text = open(f"{d}/lm/generated.txt").read()
words = text.split()  # <eos> is written as a line break
check(len(words) + text.rstrip("\n").count("\n") == 80, f"generated.txt: {len(words)} words and line breaks, not 80")
unknown = [x for x in words if x not in vocab]
check(not unknown, f"generated.txt: not in the vocabulary: {unknown[:5]}")
for w in ("lm", "dcgan", "style"):
    recs = [json.loads(l) for l in open(f"{d}/{w}/metrics.jsonl")]
    starts = [r for r in recs if r.get("event") == "start"]
    ends = [r for r in recs if r.get("event") == "end"]
    check(starts and starts[0]["task"] == w, f"{w}: no start record for task {w}")
    check(ends and ends[-1]["status"] == "finished", f"{w}: no finished end record")
    check(any("step" in r and "event" not in r for r in recs), f"{w}: no scalar record")
    page = open(f"{d}/{w}/report.html").read()
    check(page.startswith("<!DOCTYPE html>") and "</html>" in page, f"{w}/report.html: not a whole page")
    check(w == "lm" or "data:image/png;base64," in page, f"{w}/report.html: no embedded image")
print(f"ok: PNG sizes, {len(words)} generated words in the vocabulary, metrics.jsonl and reports of all three")
EOF

# The DCGAN learned: against the same job with its weights held still.
(cd "$src" && "$genet" train jobs/dcgan_demo.job data="$w/data/synthetic-glyphs.h5" epochs=1 lr=1e-12 \
  checkpoint_dir="$w/untrained" out_dir="$w/untrained") > u.log 2>&1 || { tail u.log; fail "untrained run"; }
swd() { sed -n 's/.*"swd\/mean":\([-0-9.e+]*\).*/\1/p' "$1" | tail -n 1; }
u=$(swd "$w/untrained/metrics.jsonl") t=$(swd "$w/demo/dcgan/metrics.jsonl")
[ -n "$u" ] && [ -n "$t" ] || fail "no swd/mean in metrics.jsonl (untrained '$u', demo '$t')"
awk -v u="$u" -v t="$t" 'BEGIN { exit !(t <= 0.5 * u) }' || fail "SWD x1e3 $t after the demo, $u untrained: not at most half"
pass "the DCGAN learned: SWD x1e3 $u untrained, $t after the demo's training"

# Again: every run is finished; nothing is trained, the listing comes back.
demo d2.log
[ "$(grep -c '^| nothing to do' d2.log)" = 3 ] || { grep '^|' d2.log | head -20; fail "second demo: not 3 runs with nothing to do"; }
grep -q "^language model   test perplexity $(echo "$ppl" | cut -d' ' -f1) " d2.log || fail "second demo: another perplexity"
pass "run again, the three runs are finished and the listing is the same"
echo "all passed"
