"""ref_cumulative_majority.py: the cumulative_majority task plugin against a reference
written from its definition (docs/tasks.md, Zoology's cumulative_majority): L bits,
below(2) each in position order, no end token; the label at t is 1 when the 1s among
bits 0..t are at least as many as the 0s (a tie is 1), else 0.
Usage: ref_cumulative_majority.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    from circuitsref import bits, run
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x63756D616A2D7631


def example(seed, e, L):
    b = bits(seed, SALT, e, L)
    return b, [int(2 * sum(b[: t + 1]) >= t + 1) for t in range(L)]


if __name__ == "__main__":
    run(sys.argv[1], "cumulative_majority", example, end=False)
