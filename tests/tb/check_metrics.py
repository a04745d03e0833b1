#!/usr/bin/python3
"""Checks what `genet train` recorded in an out_dir (docs/METRICS.md), independently of genet's
writer: metrics.jsonl with Python's json module, job.txt against the log's resolved job, and
every TensorBoard event file with its own TFRecord reader (CRC-32C written here) and the Event
message compiled from tests/tb/tb_event_test.proto, whose scalars must be metrics.jsonl's.

Usage: check_metrics.py PB2_DIR OUT_DIR TASK STATUSES LOG...
  STATUSES: the end status of each process in order, comma-separated (finished, max_steps, stopped)
  LOG: each process's stdout, in order (the last one's resolved job must be job.txt)
  check_metrics.py --crc-only EVENTS_FILE: only the record framing (exit 1 on a bad record)
Prints one line per finding; exit 1 on the first failure.
"""
import glob
import json
import math
import os
import re
import struct
import sys

EXPECTED = {
    "lm": ["train/loss", "train/ppl", "train/lr", "speed/ms_per_step", "speed/tokens_per_s",
           "val/loss", "val/ppl", "test/loss", "test/ppl"],
    "dcgan": ["train/loss_d", "train/loss_g", "train/d_x", "train/d_g_z1", "train/d_g_z2",
              "speed/ms_per_step", "speed/images_per_s", "swd/64px", "swd/32px", "swd/16px", "swd/mean"],
    "style": ["train/loss", "train/style_loss", "train/content_loss"],
}
BEST = {"lm": "val/ppl", "dcgan": "swd/mean", "style": "train/loss"}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def crc32c(data):
    """CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, bit by bit."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    """The data of each TFRecord of path; fails on a bad length or CRC, or a torn record."""
    blob = open(path, "rb").read()
    pos, out = 0, []
    while pos < len(blob):
        if pos + 12 > len(blob):
            fail(f"{path}: torn record header at byte {pos}")
        head = blob[pos:pos + 8]
        (n,) = struct.unpack("<Q", head)
        (hcrc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if hcrc != masked(head):
            fail(f"{path}: length CRC wrong at byte {pos}")
        data = blob[pos + 12:pos + 12 + n]
        if len(data) != n or pos + 16 + n > len(blob):
            fail(f"{path}: torn record at byte {pos}")
        (dcrc,) = struct.unpack("<I", blob[pos + 12 + n:pos + 16 + n])
        if dcrc != masked(data):
            fail(f"{path}: data CRC wrong in the record at byte {pos}")
        out.append(data)
        pos += 16 + n
    return out


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def resolved_job(log):
    """The `key = value` lines after '# resolved job:' in a log."""
    lines = open(log).read().split("\n")
    i = lines.index("# resolved job:")
    job = []
    for line in lines[i + 1:]:
        if not re.match(r"^[a-z_0-9]+ = ", line):
            break
        job.append(line + "\n")
    return "".join(job)


def main():
    if crc32c(b"123456789") != 0xE3069283:
        fail("the test's own CRC-32C is wrong on the standard vector")
    if sys.argv[1] == "--crc-only":
        records(sys.argv[2])
        print("records ok")
        return
    pb2_dir, out, task, statuses, logs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(","), sys.argv[5:]
    sys.path.insert(0, pb2_dir)
    import tb_event_test_pb2 as pb

    # ---- metrics.jsonl: one JSON object a line; processes start with "start", end with "end"
    procs = []
    for k, line in enumerate(open(os.path.join(out, "metrics.jsonl"))):
        try:
            rec = json.loads(line)
        except ValueError as e:
            fail(f"metrics.jsonl line {k + 1} is not JSON: {e}")
        if not isinstance(rec, dict) or any(isinstance(v, (dict, list)) for key, v in rec.items() if key != "best"):
            fail(f"metrics.jsonl line {k + 1} is not a flat object")
        ev = rec.get("event")
        if ev == "start":
            procs.append({"start": rec, "scalars": [], "end": None})
        elif not procs or procs[-1]["end"] is not None:
            fail(f"metrics.jsonl line {k + 1}: a record outside a start ... end")
        elif ev == "end":
            procs[-1]["end"] = rec
        elif ev is None:
            procs[-1]["scalars"].append(rec)
        else:
            fail(f"metrics.jsonl line {k + 1}: unknown event {ev}")
    if len(procs) != len(statuses):
        fail(f"{len(procs)} start records, {len(statuses)} processes ran")
    seen, best = set(), None
    if len(logs) != len(procs):
        fail(f"{len(logs)} logs for {len(procs)} processes")
    for i, (p, want) in enumerate(zip(procs, statuses)):
        s, e = p["start"], p["end"]
        for key, typ in [("time", float), ("task", str), ("step", int), ("resumed", bool), ("ranks", int),
                         ("threads", int), ("device", str), ("host", str), ("cpu", str), ("genet", str), ("pid", int)]:
            if not isinstance(s.get(key), typ):
                fail(f"start record: {key} missing or not {typ.__name__}: {s}")
        if s["task"] != task:
            fail(f"start record: task {s['task']}, want {task}")
        if e is None:
            fail(f"process started at step {s['step']} has no end record")
        if e["status"] != want:
            fail(f"end status {e['status']}, want {want}")
        if e["steps"] != e["step"] - s["step"]:
            fail(f"end record: steps {e['steps']} but steps {s['step']} -> {e['step']}")
        if not (e["time"] >= s["time"] and e["seconds"] >= 0):
            fail("end record: time goes backwards")
        last = s["step"] - 1
        for r in p["scalars"]:
            if not isinstance(r.get("step"), int) or not isinstance(r.get("epoch"), int) or not isinstance(r.get("time"), float):
                fail(f"scalar record without step, epoch or time: {r}")
            if r["step"] <= last or r["step"] > e["step"]:
                fail(f"steps not increasing within a process: {last} then {r['step']} (process {s['step']} -> {e['step']})")
            last = r["step"]
            for tag, v in r.items():
                if tag in ("step", "epoch", "time"):
                    continue
                if not re.match(r"^[a-z]+/[a-z0-9_]+$", tag) or not (v is None or isinstance(v, (int, float))):
                    fail(f"scalar record: bad tag or value {tag}: {v}")
                seen.add(tag)
                if tag == BEST[task] and v is not None and (best is None or v < best):
                    best = v
        b = e.get("best")
        if b is None or b.get("tag") != BEST[task] or b.get("value") != best:
            fail(f"end record: best {b}, want {BEST[task]} = {best} (the lowest so far)")
        ck = e.get("checkpoint")
        # (the rotation may have deleted an earlier process's last checkpoint since)
        if not ck or f"checkpoint {ck} " not in open(logs[i]).read() or (i == len(procs) - 1 and not os.path.exists(ck)):
            fail(f"end record: checkpoint {ck} is not the one the log wrote, or is gone")
    missing = [t for t in EXPECTED[task] if t not in seen]
    if missing:
        fail(f"tags never recorded: {missing}")
    print(f"ok: metrics.jsonl: {len(procs)} processes, statuses {','.join(statuses)}, "
          f"{sum(len(p['scalars']) for p in procs)} scalar records, tags {sorted(seen)}")

    # ---- the values are the ones the log lines print (in the lines' own rounding)
    text = "".join(open(log).read() for log in logs)
    printed = {
        "lm": [("train/loss", r"^\| epoch .* \| loss +([0-9.]+) \|", "{:.2f}"),
               ("val/loss", r"\| valid loss +([0-9.]+) \|", "{:.2f}"),
               ("test/loss", r"\| test loss +([0-9.]+) \|", "{:.2f}")],
        "dcgan": [("train/loss_d", r"Loss_D: ([0-9.]+) ", "{:.4f}"),
                  ("train/d_g_z2", r"D\(G\(z\)\): [0-9.]+ / ([0-9.]+)$", "{:.4f}"),
                  ("swd/mean", r"SWD x1e3 .*; mean ([0-9.]+)$", "{:.1f}")],
        "style": [("train/loss", r"^Iteration: [0-9]+, loss: ([0-9.]+)$", "{:f}")],
    }[task]
    for tag, pattern, fmt in printed:
        want = re.findall(pattern, text, re.M)
        got = [fmt.format(r[tag]) for p in procs for r in p["scalars"] if tag in r]
        if not want or got != want:
            fail(f"{tag}: metrics.jsonl {got} but the log printed {want}")
    print(f"ok: {', '.join(t for t, _, _ in printed)} are the values the log lines print")

    # ---- job.txt: the last process's resolved job as its log printed it
    if open(os.path.join(out, "job.txt")).read() != resolved_job(logs[-1]):
        fail("job.txt is not the resolved job the log printed")
    print("ok: job.txt is the last run's resolved job")

    # ---- TensorBoard: one file per process, named by its start record, the same scalars
    files = sorted(glob.glob(os.path.join(out, "events.out.tfevents.*")))
    if len(files) != len(procs):
        fail(f"{len(files)} event files for {len(procs)} processes")
    nscalars = 0
    for p in procs:
        s = p["start"]
        path = os.path.join(out, f"events.out.tfevents.{int(s['time'])}.{s['host']}.{s['pid']}")
        if path not in files:
            fail(f"no event file {path}")
        events = []
        for data in records(path):
            ev = pb.Event()
            ev.ParseFromString(data)
            events.append(ev)
        first = events[0]
        if first.WhichOneof("what") != "file_version" or first.file_version != "brain.Event:2":
            fail(f"{path}: first event is not file_version brain.Event:2")
        got = []
        for ev in events[1:]:
            if ev.WhichOneof("what") != "summary" or len(ev.summary.value) != 1:
                fail(f"{path}: an event that is not one scalar")
            v = ev.summary.value[0]
            if v.WhichOneof("value") != "simple_value":
                fail(f"{path}: a value that is not simple_value")
            got.append((ev.step, ev.wall_time, v.tag, v.simple_value))
        want = [(r["step"], r["time"], tag, val) for r in p["scalars"] for tag, val in r.items()
                if tag not in ("step", "epoch", "time")]
        if len(got) != len(want):
            fail(f"{path}: {len(got)} scalars, metrics.jsonl has {len(want)}")
        for g, w in zip(got, want):
            same = g[:3] == w[:3] and (math.isfinite(g[3]) if w[3] is not None else not math.isfinite(g[3]))
            if same and w[3] is not None:
                same = g[3] == f32(w[3])
            if not same:
                fail(f"{path}: event {g} differs from metrics.jsonl {w}")
        nscalars += len(got)
    print(f"ok: {len(files)} TensorBoard files, every record's CRC-32C right, {nscalars} scalars equal metrics.jsonl's")


main()
