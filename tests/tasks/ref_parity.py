"""ref_parity.py: the parity task plugin against a reference written from its definition
(docs/tasks.md, Zoology's parity): L-1 bits, below(2) each in position order, then the
end token 2; the one label, on the end token, is the parity of the bits (1 when the
count of 1s is odd). Usage: ref_parity.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    from circuitsref import bits, run
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x7061726974792D31


def example(seed, e, L):
    b = bits(seed, SALT, e, L - 1)
    return b + [2], [-100] * (L - 1) + [sum(b) % 2]


if __name__ == "__main__":
    run(sys.argv[1], "parity", example, end=True)
