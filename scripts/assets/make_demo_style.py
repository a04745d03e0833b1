#!/usr/bin/env python3
"""Draws assets/demo/strokes.png, the demo's style image: short brush strokes in a blue and
yellow palette that follow a swirling flow field (in the manner of a post-impressionist sky).
Generated, so it is genet's own and free to redistribute. Run: /usr/bin/python3 this OUT.png"""
import math
import random
import sys

from PIL import Image, ImageDraw

W, H = 256, 192
PALETTE = [(24, 44, 110), (38, 76, 156), (70, 120, 200), (120, 170, 220),
           (235, 205, 70), (250, 230, 120), (225, 140, 40), (20, 30, 60)]


def angle(x, y):
    # Two swirls and a slow wave: the direction a stroke at (x, y) takes.
    a = 0.0
    for cx, cy, s in ((0.3 * W, 0.4 * H, 1.0), (0.72 * W, 0.6 * H, -1.0)):
        dx, dy = x - cx, y - cy
        r = math.hypot(dx, dy) + 1e-3
        w = math.exp(-r / (0.35 * W))
        a += w * s * (math.atan2(dy, dx) + math.pi / 2)
    return a + 0.6 * math.sin(y / 23.0) * (1 - a / 4)


def main(out):
    rnd = random.Random(1)
    img = Image.new("RGB", (W, H), PALETTE[1])
    d = ImageDraw.Draw(img)
    for _ in range(4000):
        x, y = rnd.uniform(0, W), rnd.uniform(0, H)
        near_swirl = min(math.hypot(x - 0.3 * W, y - 0.4 * H), math.hypot(x - 0.72 * W, y - 0.6 * H))
        pool = PALETTE[3:7] if near_swirl < 0.16 * W and rnd.random() < 0.7 else PALETTE
        c = tuple(min(255, max(0, v + rnd.randint(-18, 18))) for v in rnd.choice(pool))
        pts = [(x, y)]
        for _ in range(rnd.randint(3, 7)):
            a = angle(x, y)
            x, y = x + 3.0 * math.cos(a), y + 3.0 * math.sin(a)
            pts.append((x, y))
        d.line(pts, fill=c, width=rnd.randint(2, 4))
    img.save(out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "assets/demo/strokes.png")
