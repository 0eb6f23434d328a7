"""ref_selective_copying.py: the selective_copying plugin against MAD's definition.

N tokens below(V-2); B = L - 2N - 1 blanks (V-2), each placed before token below(N);
then the copy token V-1 and N blanks whose labels are the N tokens in order. No shift
and no difference between training and test.
Usage: ref_selective_copying.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    from madref import IGN, compare, refusals
    from taskref import Checker, Stream
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x6D616473656C6300


def example(V, L, N, seed, task_seed, e, train):
    r = Stream(seed, SALT, e)
    toks = [r.below(V - 2) for _ in range(N)]
    places = [r.below(N) for _ in range(L - 2 * N - 1)]
    x = []
    for i, t in enumerate(toks):
        x += [V - 2] * places.count(i) + [t]
    x += [V - 1] + [V - 2] * N
    y = [IGN] * (L - N) + toks
    return x, y


def main():
    check = Checker()
    compare(check, sys.argv[1], "selective_copying", example,
            [(16, 256, 16, 0, 20), (128, 1024, 96, 3, 5), (3, 5, 1, 7, 20), (64, 40, 19, 11, 20)],
            ["num_tokens_to_copy"])
    refusals(check, sys.argv[1], "selective_copying",
             [(16, 33, {"num_tokens_to_copy": 16}, "num_tokens_to_copy"), (16, 64, {"num_tokens_to_copy": 0},
              "num_tokens_to_copy"), (2, 64, {}, "vocab")])
    check.exit()


if __name__ == "__main__":
    main()
