"""ref_my_task.py: the example task plugin (examples/my_task) against a reference
written from its definition.

Example e draws from the stream (seed, SALT, e), in this order: noise x[t] = 1 +
below(V - 1) for t = 0..L-1; the pair position p = below(L - 2 - g); the query position
q = p + 2 + g + below(L - 2 - g - p) (g = min_gap). Then x[p] = x[q] = 0 (the marker),
the label at q is x[p + 1], every other label -100; the tag is 0 ("near") when
q - p - 2 < L // 2, else 1 ("far"). The bytes must match the plugin's.
Usage: ref_my_task.py TASK_DUMP (my_task.so on ZOO_PLUGIN_PATH). Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    import numpy as np
    from taskref import Checker, Stream, dump
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x6D792D7461736B31


def example(V, L, g, seed, e):
    r = Stream(seed, SALT, e)
    x = [1 + r.below(V - 1) for _ in range(L)]
    y = [-100] * L
    p = r.below(L - 2 - g)
    q = p + 2 + g + r.below(L - 2 - g - p)
    value = x[p + 1]
    x[p] = x[q] = 0
    y[q] = value
    return x, y, 0 if q - p - 2 < L // 2 else 1


def main():
    exe = sys.argv[1]
    check = Checker()
    for V, L, g, seed, split, n in [(64, 32, 4, 0, "train", 200), (1000, 16, 13, 9, "test", 100),
                                    (3, 8, 0, 2, "train", 100)]:
        got = dump(exe, "my_task", V, L, n, seed, seed, split, {"min_gap": g})
        if isinstance(got[0], int):
            check(False, f"my_task V={V} L={L} min_gap={g}: task_dump failed: {got[1]}")
            continue
        x, y, tags = got
        ref = [example(V, L, g, seed, e) for e in range(n)]
        rx = np.array([r[0] for r in ref], dtype=np.int32)
        ry = np.array([r[1] for r in ref], dtype=np.int32)
        rt = np.array([r[2] for r in ref], dtype=np.int32)
        check(np.array_equal(x, rx) and np.array_equal(y, ry) and tags is not None and np.array_equal(tags, rt),
              f"my_task V={V} L={L} min_gap={g} seed={seed}: {n} examples and tags equal the reference")
    # Refusals, each naming the knob or field.
    for V, L, g, want in [(64, 8, 6, "min_gap"), (64, 32, -1, "min_gap"), (2, 32, 4, "vocab")]:
        got = dump(exe, "my_task", V, L, 1, 0, 0, "train", {"min_gap": g})
        check(isinstance(got[0], int) and got[0] == 3 and want in got[1],
              f"my_task V={V} L={L} min_gap={g} refused naming {want}")
    check.exit()


if __name__ == "__main__":
    main()
