"""ref_noisy_in_context_recall.py: the noisy_in_context_recall plugin against MAD's definition.

(MAD's defaults here: vocab 32 with 16 noise tokens, frac_noise 0.2.) The generator and
its draw order are in_context_recall's (ref_in_context_recall.py), with this task's salt.
Usage: ref_noisy_in_context_recall.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    from ref_in_context_recall import run
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x6D61646E69637200

if __name__ == "__main__":
    run("noisy_in_context_recall", SALT,
        [(32, 128, True, 16, 0.2, 0, 30), (48, 256, False, 16, 0.8, 3, 20), (64, 32, True, 8, 0.3, 7, 30),
         (10, 4, False, 2, 0.5, 11, 20)])
