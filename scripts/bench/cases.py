"""layers.cases: parsing and the FLOP count of each case (forward + backward)."""


def parse_cases(path):
    out = []
    for line in open(path):
        line = line.split("#", 1)[0].split()
        if line:
            out.append((line[0], line[1], [int(v) for v in line[2:]]))
    return out


def case_flops(kind, a):
    """Multiply-adds counted as 2 FLOPs; backward = 2x forward for conv-like ops (data and
    weight gradients). None where FLOPs do not describe the work (memory-bound ops)."""
    if kind == "conv":
        n, cin, h, w, cout, k, s, p = a
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        return 3 * 2 * n * cout * ho * wo * cin * k * k
    if kind == "convt":
        n, cin, h, w, cout, k, s, p = a
        return 3 * 2 * n * cin * h * w * cout * k * k
    if kind == "lstm":
        t, b, i, hdim, l = a
        fwd = sum(2 * t * b * 4 * hdim * ((i if layer == 0 else hdim) + hdim) for layer in range(l))
        return 3 * fwd
    return None
