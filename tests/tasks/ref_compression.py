"""ref_compression.py: the compression plugin against MAD's definition, recast for a
decoder-only model. n = L/2; n - 1 tokens below(m), m = V - 1 - noise_vocab_size; then
if frac_noise > 0 each token in turn becomes m + below(noise_vocab_size) when
uniform() < frac_noise. Inputs: the tokens then n + 1 compression tokens (V-1);
labels: the n - 1 tokens and the compression token on positions n-1 .. 2n-2 (noise
included, as MAD's targets), -100 elsewhere; no difference between training and test.
Usage: ref_compression.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    from madref import IGN, compare, refusals
    from taskref import Checker, Stream
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x6D6164636F6D7000


def example(V, L, nv, frac, seed, task_seed, e, train):
    r = Stream(seed, SALT, e)
    n, m = L // 2, V - 1 - nv
    s = [r.below(m) for _ in range(n - 1)]
    if frac > 0:
        for i in range(n - 1):
            if r.uniform() < frac:
                s[i] = m + r.below(nv)
    s.append(V - 1)
    x = s[:-1] + [V - 1] * (n + 1)
    y = [IGN] * (n - 1) + s + [IGN]
    return x, y


def main():
    check = Checker()
    compare(check, sys.argv[1], "compression", example,
            [(16, 64, 0, 0.0, 0, 30), (128, 512, 0, 0.0, 3, 10), (40, 32, 8, 0.3, 7, 30), (3, 4, 1, 0.9, 11, 20)],
            ["noise_vocab_size", "frac_noise"])
    refusals(check, sys.argv[1], "compression",
             [(16, 63, {}, "seq_len"), (16, 2, {}, "seq_len"), (16, 64, {"frac_noise": 0.5}, "noise_vocab_size"),
              (16, 64, {"noise_vocab_size": 15}, "vocab"), (16, 64, {"noise_vocab_size": 4, "frac_noise": -1},
              "frac_noise")])
    check.exit()


if __name__ == "__main__":
    main()
