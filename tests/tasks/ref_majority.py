"""ref_majority.py: the majority task plugin against a reference written from its
definition (docs/tasks.md, Zoology's majority): L-1 bits, below(2) each in position
order, then the end token 2; the one label, on the end token, is 1 when more than half
of the bits are 1 (ones / (L-1) > 0.5), else 0, so a tie is 0.
Usage: ref_majority.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    from circuitsref import bits, run
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x6D616A6F722D7631


def example(seed, e, L):
    b = bits(seed, SALT, e, L - 1)
    return b + [2], [-100] * (L - 1) + [int(sum(b) / (L - 1) > 0.5)]


if __name__ == "__main__":
    run(sys.argv[1], "majority", example, end=True)
