#!/usr/bin/env bash
# genet report: a run directory made here by hand (a metrics.jsonl with a resume, PNG grids,
# generated text with markup, the job) becomes one page that embeds everything and loads
# nothing; bad inputs end in one line and a non-zero exit with nothing overwritten; headless
# Chromium renders the page without console messages into a screenshot that is not blank.
# Usage: test_report.sh GENET
set -u
genet=$1
. "$(dirname "$0")/testlib.sh"
py=/usr/bin/python3  # Debian's, with python3-pil (scripts/install-deps.sh)
pass=0; failed=0
ok() { echo "ok   $*"; pass=$((pass+1)); }
bad() { echo "FAIL $*"; failed=$((failed+1)); }
check() {  # check NAME EXPECTED_RC PATTERN CMD...: exit status and a line of the output
  local name=$1 want=$2 pat=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" = "$want" ] && printf '%s' "$out" | grep -qE "$pat"; then ok "$name"
  else bad "$name: rc=$rc (want $want), output: $out"; fi
}

# ---- the run directory: LM-like tags and a DCGAN-like swd group, resumed once from step 300
# (steps 400 and 500 written twice: the second values must count).
run=$w/run
mkdir -p "$run"
{
  echo '{"event":"start","time":1764417600.25,"task":"lm","step":0,"resumed":false,"ranks":2,"threads":2,"device":"cpu","host":"vm1","cpu":"Old CPU","genet":"genet 0.2 (0000000)"}'
  for s in 100 200 300 400 500; do
    echo "{\"step\":$s,\"epoch\":0,\"time\":$((1764417600 + s / 10)).5,\"train/loss\":9.$s,\"train/ppl\":$((9000 - s)),\"train/lr\":20,\"swd/mean\":null}"
  done
  echo '{"step":200,"val/loss":4.5,"val/ppl":90}'
  echo '{"step":400,"val/loss":4.4,"val/ppl":50}'
  echo '{"event":"start","time":1764421200,"task":"lm","step":300,"resumed":true,"ranks":2,"threads":2,"device":"cpu","host":"vm","cpu":"AMD EPYC 7B13","genet":"genet 0.3 (abc1234)"}'
  for s in 400 500 600 700 800; do
    echo "{\"step\":$s,\"epoch\":1,\"time\":$((1764421200 + s / 10)),\"train/loss\":$((s / 100)).25,\"train/ppl\":$((900 - s)),\"train/lr\":5,\"swd/mean\":$((s / 100)),\"swd/16px\":1e-3}"
  done
  echo '{"step":400,"val/loss":1.9,"val/ppl":7.25}'
  echo '{"step":600,"val/loss":1.2,"val/ppl":3.5}'
  echo '{"step":800,"val/loss":1.1,"val/ppl":3.02}'
  echo '{"step":800,"test/loss":1.15,"test/ppl":3.16}'
  echo '{"event":"end","time":1764421290,"step":800,"status":"finished","steps":800,"seconds":61.2,"steps_per_s":13.1,"best":{"tag":"val/ppl","value":3.02},"checkpoint":"checkpoints/lm_demo/ckpt_0000000800.h5"}'
} > "$run/metrics.jsonl"
printf 'task = lm\nlr = 20\nout_dir = %s\n' "$run" > "$run/job.txt"
printf 'w01 w02 <script>alert("x")</script> & done\n' > "$run/generated.txt"
: > "$run/events.out.tfevents.1764417600.vm"
echo 'not a png' > "$run/bogus.png"
# Grids with many colours (a gradient per image, shifted per epoch).
"$py" - "$run" <<'EOF' || fail "cannot make the PNGs with $py and PIL (python3-pil)"
import sys
from PIL import Image
d = sys.argv[1]
def grid(path, shift):
    im = Image.new("RGB", (130, 130))
    im.putdata([((x * 2 + shift) % 256, (y * 2) % 256, (x + y + 3 * shift) % 256) for y in range(130) for x in range(130)])
    im.save(path)
grid(f"{d}/real_samples.png", 0)
for e in range(10):
    grid(f"{d}/fake_samples_epoch_{e:03d}.png", 20 * e + 5)
grid(f"{d}/result.png", 100)
EOF

out=$("$genet" report "$run" 2>&1); rc=$?
page=$run/report.html
[ "$rc" = 0 ] && [ -s "$page" ] && ok "report writes $page" || fail "genet report: rc=$rc: $out"
left=$(ls -A "$run" | grep -c tmp)
[ "$left" = 0 ] && ok "no temporary file left" || bad "temporary files left: $(ls -A "$run")"

# ---- the page's content, read by Python's HTML parser (independent of genet's writer).
"$py" - "$page" "$run" <<'EOF'
import base64, html.parser, re, sys
page, run = sys.argv[1], sys.argv[2]
text = open(page, encoding="utf-8").read()
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond: fails.append(what)

class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.svgs, self.cur, self.imgs, self.pres, self.in_pre, self.h3, self.in_h3 = [], None, [], [], False, [], False
        self.cells, self.in_td = [], False
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "svg": self.cur = {"polyline": [], "circle": 0, "text": []}
        elif tag == "polyline" and self.cur is not None: self.cur["polyline"].append(a["points"].split())
        elif tag == "circle" and self.cur is not None: self.cur["circle"] += 1
        elif tag == "img": self.imgs.append(a)
        elif tag == "pre": self.in_pre = True; self.pres.append("")
        elif tag == "h3": self.in_h3 = True; self.h3.append("")
        elif tag in ("td", "th"): self.in_td = True; self.cells.append("")
    def handle_endtag(self, tag):
        if tag == "svg": self.svgs.append(self.cur); self.cur = None
        elif tag == "pre": self.in_pre = False
        elif tag == "h3": self.in_h3 = False
        elif tag in ("td", "th"): self.in_td = False
    def handle_data(self, d):
        if self.cur is not None: self.cur["text"].append(d)
        if self.in_pre: self.pres[-1] += d
        if self.in_h3: self.h3[-1] += d
        if self.in_td: self.cells[-1] += d
p = P(); p.feed(text)

head = dict(zip(p.cells[0::2], p.cells[1::2]))
want = {"task": "lm", "status": "finished", "steps": "800", "host": "vm", "cpu": "AMD EPYC 7B13",
        "device": "cpu", "ranks": "2", "threads": "2", "genet": "genet 0.3 (abc1234)", "best": "val/ppl = 3.02",
        "checkpoint": "checkpoints/lm_demo/ckpt_0000000800.h5"}
check(all(head.get(k) == v for k, v in want.items()), f"header from the last start and end records: {head}")
# time: the first run 50.25 s (from its start to its record at step 500), the second 90 s
check(head.get("time", "").startswith("2 min 20 s") and "2 runs" in head.get("time", ""), f"time summed over both runs: {head.get('time')}")

groups = [h for h in p.h3 if h in ("train", "swd", "val", "test")]
check(groups == ["train", "swd", "val", "test"], f"one chart per group, in order of appearance: {groups}")
charts = dict(zip([h for h in p.h3 if h in groups], p.svgs))
tr = charts["train"]
check(len(tr["polyline"]) == 3 and all(len(l) == 8 for l in tr["polyline"]),
      f"train: 3 tags x 8 steps (400 and 500 once each): {[len(l) for l in tr['polyline']]}")
legend = " ".join(tr["text"])
check("train/loss = 8.25" in legend and "train/ppl = 100" in legend and "train/lr = 5" in legend, "train legend: the last values")
check("log scale" in legend, "train: loss 1.25-8.25 with ppl 100-8800: a log y axis")
va = " ".join(charts["val"]["text"])
check(charts["val"]["circle"] == 8 and "val/ppl = 3.02" in va, f"val: 2 tags x 4 steps marked ({charts['val']['circle']} circles)")
# val/ppl at step 400: 50, then 7.25 after the resume. On the linear axis (90 / 1.1 < 100) 7.25
# lies within a tenth of the 90-3.02 drop above 3.02; 50 would lie halfway.
vp = [float(xy.split(",")[1]) for xy in charts["val"]["polyline"][1]]
check(len(vp) == 4 and 0 < vp[3] - vp[1] < 0.1 * (vp[3] - vp[0]), f"val/ppl at step 400 is the value written last (y pixels {vp})")
sw = charts["swd"]
check("swd/mean = 8" in " ".join(sw["text"]) and "(3 non-finite)" in " ".join(sw["text"]) and len(sw["polyline"]) == 2,
      "swd: the nulls of steps 100-300 counted and left out (400 and 500 rewritten with numbers)")
check("test/ppl = 3.16" in " ".join(charts["test"]["text"]) and charts["test"]["circle"] == 2, "test: one point per tag, marked")

names = [i["alt"] for i in p.imgs]
check(names == ["real_samples.png", "result.png", "fake_samples_epoch_000.png", "fake_samples_epoch_003.png",
                "fake_samples_epoch_006.png", "fake_samples_epoch_009.png"], f"images: singles, then 4 of 10 epochs: {names}")
raw = open(f"{run}/real_samples.png", "rb").read()
src = p.imgs[0]["src"]
check(src.startswith("data:image/png;base64,") and base64.b64decode(src.split(",", 1)[1], validate=True) == raw,
      "real_samples.png embedded byte for byte (base64 decoded by Python)")
check("bogus.png: not a PNG file" in text, "a .png that is no PNG: named, not embedded")
check(any(pre.startswith('w01 w02 <script>alert("x")</script> & done') for pre in p.pres) and "<script" not in text,
      "generated.txt shown as text; its markup escaped")
check(any("task = lm" in pre for pre in p.pres), "job.txt shown")
check("tfevents" not in text, "TensorBoard files ignored")
bare = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "data:", text)
ext = re.findall(r'(?:https?:|ftp:|//[a-z]|(?:src|href)\s*=\s*["\']?(?!data:)[^"\'\s>]+)', bare)
check(not ext, f"nothing external referenced: {ext[:3]}")
sys.exit(1 if fails else 0)
EOF
if [ $? = 0 ]; then pass=$((pass+1)); else failed=$((failed+1)); fi

# ---- bad inputs: one line naming the file and line, non-zero, the old page left as it was.
check "usage" 2 "usage: genet report RUN_DIR" "$genet" report
check "unknown argument" 2 "report: unknown key 'foo' \\(out\\)" "$genet" report "$run" foo=1
check "missing run directory" 1 "^genet: $w/nope: no such run directory$" "$genet" report "$w/nope"
check "a file as run directory" 1 "^genet: $run/job.txt: not a directory" "$genet" report "$run/job.txt"
mk() {  # mk DIR: a run directory with an old page, metrics.jsonl from stdin
  mkdir -p "$1"; cat > "$1/metrics.jsonl"; echo old > "$1/report.html"
}
printf '{"step":1,"train/loss":2}\n{"step":2,"train/loss":2,}\n{"step":3,"train/loss":1}\n' | mk "$w/b1"
check "malformed line" 1 "^genet: $w/b1/metrics.jsonl:2: not a JSON object: column 26: expected a '\"' starting a key" "$genet" report "$w/b1"
[ "$(cat "$w/b1/report.html")" = old ] && [ "$(ls "$w/b1" | wc -l)" = 2 ] && ok "malformed line: old page kept, nothing else written" \
  || bad "malformed line: the directory holds $(ls "$w/b1")"
printf '{"step":1,"train/loss":"high"}\n' | mk "$w/b2"
check "a tag with a string" 1 "metrics.jsonl:1: \"train/loss\": expected a number or null" "$genet" report "$w/b2"
printf '{"epoch":1,"train/loss":2}\n' | mk "$w/b3"
check "a record without step" 1 "metrics.jsonl:1: a record without \"event\" needs a number \"step\"" "$genet" report "$w/b3"
printf '{"event":"start","task":"dcgan"}\n{"step":1,"train/loss":2}\n\n{"step":2,"train/lo' | mk "$w/b4"
check "truncated last line: a warning" 0 "^genet: warning: $w/b4/metrics.jsonl:4: incomplete last line skipped" "$genet" report "$w/b4/"
grep -q 'train/loss = 2' "$w/b4/report.html" && ok "truncated last line: the lines before it shown" || bad "truncated last line: no chart"
grep -q 'no end record after the last start' "$w/b4/report.html" && ok "a run without end record: said so" || bad "a run without end record: no status"
printf '{"step":1,"train/loss":2}\n{"step":2,"train/lo\n' | mk "$w/b5"
check "cut line that is not the last" 1 "metrics.jsonl:2: not a JSON object" "$genet" report "$w/b5"
mkdir "$w/empty"
check "empty directory" 0 "report: $w/empty/report.html" "$genet" report "$w/empty"
grep -q 'No metrics.jsonl' "$w/empty/report.html" && grep -q 'No PNG images' "$w/empty/report.html" &&
  grep -q 'No job.txt' "$w/empty/report.html" && ok "empty directory: each missing piece noted" || bad "empty directory: notes missing"
check "out= elsewhere" 0 "report: $w/elsewhere.html" "$genet" report "$run" out="$w/elsewhere.html"
cmp -s "$w/elsewhere.html" "$page" && ok "out=: the same page" || bad "out=: a different page"
check "out= in a missing directory" 1 "^genet: $w/no/dir/r.html: cannot create a temporary file" "$genet" report "$run" out="$w/no/dir/r.html"

# ---- the page in headless Chromium: no console message (the page has no script, so any is a
# fault: a blocked load, a parse error) and a screenshot with charts and images on it.
chrome=$(command -v chromium || true)
render() {  # render PAGE PNG: prints the console messages the page caused
  local flags=(--headless --disable-gpu --hide-scrollbars --user-data-dir="$w/profile" --enable-logging=stderr
               --v=0 --screenshot="$2" --window-size=1200,2400)
  [ "$(id -u)" = 0 ] && flags+=(--no-sandbox)
  HOME=$w timeout 60 "$chrome" "${flags[@]}" "file://$1" 2>&1 >/dev/null | grep 'CONSOLE' || true
}
# Many colours and a fair share of non-white pixels: charts and images were drawn.
drawn() {
  "$py" - "$1" <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
px = list(im.getdata())
colours, inked = len(set(px)), sum(1 for p in px if min(p) < 240) / len(px)
print(f"{im.size[0]}x{im.size[1]}, {colours} colours, {100 * inked:.1f}% non-white")
sys.exit(0 if colours >= 1000 and inked >= 0.05 else 1)
EOF
}
if [ -z "$chrome" ]; then
  bad "chromium not found (scripts/install-deps.sh installs it)"
else
  msgs=$(render "$page" "$w/shot.png")
  [ -z "$msgs" ] && ok "Chromium: no console message" || bad "Chromium console: $msgs"
  if [ -s "$w/shot.png" ] && info=$(drawn "$w/shot.png"); then ok "screenshot not blank: $info"
  else bad "screenshot blank or missing: ${info:-no file}"; fi
  [ -n "${GENET_REPORT_SHOT:-}" ] && cp "$w/shot.png" "$GENET_REPORT_SHOT"
  # The two checks must be able to fail: a blank page that logs and loads a file.
  printf '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="img-src data:"><img src="%s"><script>console.error("planted")</script>\n' \
    "file://$run/result.png" > "$w/planted.html"
  msgs=$(render "$w/planted.html" "$w/planted.png")
  n=$(printf '%s\n' "$msgs" | grep -c CONSOLE)
  [ "$n" = 2 ] && ok "planted page: its error and its blocked load both caught" || bad "planted page: $n console lines: $msgs"
  drawn "$w/planted.png" > /dev/null && bad "planted blank page passed as drawn" || ok "planted blank page: found blank"
fi
echo "report: $pass passed, $failed failed"
[ "$failed" = 0 ]
