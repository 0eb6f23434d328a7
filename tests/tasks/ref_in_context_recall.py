"""ref_in_context_recall.py: the in_context_recall plugin against MAD's definition.

L/2 - 1 pairs: keep = below(L/2 - 1) is never noise; other pairs are noise when
frac_noise > 0 and uniform() < frac_noise (two tokens n + below(noise_vocab_size));
a pair's key is below(n/2), a new key's value n/2 + below(n - n/2), n = V (- 1 without
multi_query) - noise_vocab_size. Then (without multi_query) the copy prefix V-1, the
probe key (below(#keys shown), in first-shown order) and its value. Inputs: the first
L tokens; labels: the next token (training) or the next token's target (test: the
probe's value, and with multi_query every value of a key shown before).
Usage: ref_in_context_recall.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    from madref import compare, recall_example, refusals
    from taskref import Checker
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x6D61646963723100
CASES = [(16, 128, True, 0, 0.0, 0, 30), (16, 64, False, 0, 0.0, 3, 30), (64, 32, True, 8, 0.3, 7, 30),
         (10, 4, False, 2, 0.5, 11, 20)]


def run(task, salt, cases):
    """Both recall tasks are one generator with their own salt and defaults."""
    def example(V, L, mq, nv, frac, seed, task_seed, e, train):
        return recall_example(V, L, mq, nv, frac, seed, salt, e, train)

    check = Checker()
    compare(check, sys.argv[1], task, example, cases, ["multi_query", "noise_vocab_size", "frac_noise"])
    refusals(check, sys.argv[1], task,
             [(16, 127, {}, "seq_len"), (16, 2, {}, "seq_len"), (16, 64, {"frac_noise": 1}, "frac_noise"),
              (16, 64, {"frac_noise": 0.2}, "noise_vocab_size"), (16, 64, {"noise_vocab_size": 15}, "vocab"),
              (2, 64, {"multi_query": "false"}, "vocab")])
    check.exit()


if __name__ == "__main__":
    run("in_context_recall", SALT, CASES)
