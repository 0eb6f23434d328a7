"""ref_cumulative_parity.py: the cumulative_parity task plugin against a reference
written from its definition (docs/tasks.md, Zoology's cumulative_parity): L bits,
below(2) each in position order, no end token; the label at t is the parity of bits
0..t. Usage: ref_cumulative_parity.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    from circuitsref import bits, run
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x63757061722D7631


def example(seed, e, L):
    b = bits(seed, SALT, e, L)
    return b, [sum(b[: t + 1]) % 2 for t in range(L)]


if __name__ == "__main__":
    run(sys.argv[1], "cumulative_parity", example, end=False)
