"""taskref.py: what the task references share: zoo's counter-based example streams,
written again in Python from their definition, and running task_dump.

The stream of example e of a set seeded s, for a task with salt c:
  key = mix64(mix64(s ^ c) + e)   (mod 2^64)
  draw k (k = 0, 1, ...) = (mix64(key ^ mix64(k)) >> 11) / 2^53
  below(n) = min(floor(draw * n), n - 1)
mix64 is the splitmix64 finaliser. A reference that draws the same numbers in the same
order must produce the same bytes as the plugin.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

M64 = (1 << 64) - 1


def mix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class Stream:
    def __init__(self, seed, salt, index):
        self.key = mix64((mix64((seed ^ salt) & M64) + index) & M64)
        self.ctr = 0

    def uniform(self):
        u = (mix64(self.key ^ mix64(self.ctr)) >> 11) * (1.0 / 9007199254740992.0)
        self.ctr += 1
        return u

    def below(self, n):
        x = int(self.uniform() * n)
        return x if x < n else n - 1


def dump(exe, task, vocab, L, n, seed, task_seed, split, knobs=None):
    """(inputs, labels, tags or None) from task_dump, or the exit code (int) on refusal."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "data.bin")
        args = [exe, task, str(vocab), str(L), str(n), str(seed), str(task_seed), split, out]
        args += [f"{k}={v}" for k, v in (knobs or {}).items()]
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode != 0:
            return r.returncode, r.stderr
        raw = open(out, "rb").read()
    head = np.frombuffer(raw[:24], dtype="<i8")
    n, L, has_tags = int(head[0]), int(head[1]), int(head[2])
    body = np.frombuffer(raw[24:], dtype="<i4")
    x = body[: n * L].reshape(n, L)
    y = body[n * L : 2 * n * L].reshape(n, L)
    tags = body[2 * n * L :] if has_tags else None
    return x, y, tags


class Checker:
    def __init__(self):
        self.failures = []

    def __call__(self, ok, msg):
        print(("ok   " if ok else "FAIL ") + msg, flush=True)
        if not ok:
            self.failures.append(msg)

    def exit(self):
        if self.failures:
            print(f"{len(self.failures)} check(s) failed")
            sys.exit(1)
        sys.exit(0)
