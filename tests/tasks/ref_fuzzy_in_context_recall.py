"""ref_fuzzy_in_context_recall.py: the fuzzy_in_context_recall plugin against MAD's
definition. Specials: pad V-1 with multi_query, else pad V-2 and copy prefix V-1;
n = V - (1 or 2) - noise_vocab_size; keys are size-s tuples of distinct tokens of
[0, n/2), values of [n/2, n) (drawn token by token, redrawing repeats). Sizes: keys
1 + below(K) in training, K at test; values 1 + below(W). Draws: probe key size, probe
value size, probe key, probe value, at = below(L - 2(ks + vs)); then while the sequence
is shorter than L - (ks + vs) - (K + W): key size, value size; the probe pair when the
length reached `at` and it is not in yet; else noise (uniform() < frac_noise, k + v
tokens n + below(noise_vocab_size)) or a key: the probe key takes the probe value, a
shown key its value, a new key a new value. Then the copy prefix (without
multi_query), the probe key and value; front padding to L+1; inputs the first L,
labels the next token (training) or the next target (test).
Usage: ref_fuzzy_in_context_recall.py TASK_DUMP. Exit 0 pass, 1 fail, 77 skip.
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
try:
    from madref import IGN, compare, refusals
    from taskref import Checker, Stream
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

SALT = 0x6D61646669637200


def motif(r, lo, m, s):
    out = []
    while len(out) < s:
        t = lo + r.below(m)
        if t not in out:
            out.append(t)
    return tuple(out)


def example(V, L, K, W, mq, nv, frac, seed, task_seed, e, train):
    r = Stream(seed, SALT, e)
    n = V - (1 if mq else 2) - nv
    half = n // 2
    pad = V - 1 if mq else V - 2

    def ksize():
        return 1 + r.below(K) if train else K

    ks = ksize()
    vs = 1 + r.below(W)
    kp = motif(r, 0, half, ks)
    vp = motif(r, half, n - half, vs)
    at = r.below(L - 2 * (ks + vs))
    seq, tgt, shown, added = [], [], {}, False
    while len(seq) < L - (ks + vs) - (K + W):
        kn = ksize()
        vn = 1 + r.below(W)
        if len(seq) >= at and not added:
            seq += kp + vp
            tgt += [IGN] * (ks + vs)
            shown[kp] = vp
            added = True
            continue
        if frac > 0 and r.uniform() < frac:
            seq += [n + r.below(nv) for _ in range(kn + vn)]
            tgt += [IGN] * (kn + vn)
            continue
        k = motif(r, 0, half, kn)
        if k == kp:
            v = vp
            added = True
        elif k in shown:
            v = shown[k]
        else:
            v = motif(r, half, n - half, vn)
        seq += list(k) + list(v)
        tgt += [IGN] * kn + (list(v) if k in shown and mq else [IGN] * len(v))
        shown[k] = v
    if not mq:
        seq.append(V - 1)
        tgt.append(IGN)
    seq += list(kp) + list(vp)
    tgt += [IGN] * ks + list(vp)
    npad = L + 1 - len(seq)
    seq = [pad] * npad + seq
    tgt = [IGN] * npad + tgt
    lab = seq if train else tgt
    return seq[:L], lab[1:]


def main():
    check = Checker()
    compare(check, sys.argv[1], "fuzzy_in_context_recall", example,
            [(16, 128, 3, 3, True, 0, 0.0, 0, 30), (16, 64, 3, 3, False, 0, 0.0, 3, 30),
             (40, 96, 2, 4, True, 8, 0.3, 7, 30), (9, 9, 1, 1, False, 1, 0.5, 11, 20),
             (128, 1024, 3, 3, True, 0, 0.0, 5, 4)],
            ["k_motif_size", "v_motif_size", "multi_query", "noise_vocab_size", "frac_noise"])
    refusals(check, sys.argv[1], "fuzzy_in_context_recall",
             [(16, 12, {}, "seq_len"), (16, 128, {"k_motif_size": 0}, "k_motif_size"),
              (16, 128, {"v_motif_size": 0}, "v_motif_size"), (6, 128, {}, "k_motif_size"),
              (16, 128, {"frac_noise": 0.1}, "noise_vocab_size")])
    check.exit()


if __name__ == "__main__":
    main()
