"""mqar_stats.py: the MQAR query-slot law and token laws, statistically.

Data from `zoo data mqar` is compared with an independent, deliberately simple sampler
written here in NumPy: K successive weighted draws without replacement, renormalising
after each draw, weights p_i ~ a*i^(a-1) over slots i = 1..S (docs/task.md). The
tests are two-sample chi-square homogeneity tests (so the reference's own Monte Carlo
noise is accounted for), on the (pair index, slot) table and on the slot marginal, plus
an exact goodness-of-fit test of the first pair's slot against p itself.
Controls keep the test honest: uniform slots (power_a = 1) and a nearby law
(power_a = 0.1) must be REJECTED by the same tests; power_a = 1 against a uniform
reference must pass. Keys and values are checked uniform over their halves.
Usage: mqar_stats.py ZOO_BINARY SCRATCH_DIR. Exit 0 pass, 1 fail, 77 skip.
"""
import os
import subprocess
import sys
import tempfile

SKIP = 77
try:
    import h5py
    import numpy as np
    from scipy import stats
except ImportError as e:  # the test needs Debian's python3-h5py/numpy/scipy
    print(f"skip: {e}")
    sys.exit(SKIP)

ALPHA = 1e-3  # pass threshold on p-values (fixed seeds: the outcome is reproducible)
REJECT = 1e-6  # controls must be rejected at least this strongly

failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)


def generate(zoo, tmp, V, L, K, n, seed, a):
    path = os.path.join(tmp, f"d-{L}-{K}-{seed}-{a}.h5")
    cmd = [zoo, "data", "mqar", "--vocab", str(V), "--seq-len", str(L), "--kv-pairs", str(K),
           "--examples", str(n), "--seed", str(seed), "--power-a", repr(a), "-o", path]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL", " ".join(cmd), "->", r.returncode, r.stderr.strip())
        sys.exit(1)
    with h5py.File(path, "r") as f:
        x, y = f["inputs"][...], f["labels"][...]
    os.unlink(path)
    return x, y


def slot_table(x, y, K):
    """(n, K) slot of pair j (pair j = the j-th key of the kv block) in each row."""
    n, L = x.shape
    C = 2 * K
    rows, pos = np.nonzero(y != -100)
    assert len(rows) == n * K, f"{len(rows)} labels, expected {n * K}"
    keys = x[:, 0:C:2]  # (n, K)
    qkey = x[rows, pos]
    j = np.argmax(keys[rows] == qkey[:, None], axis=1)
    assert np.all(keys[rows, j] == qkey)
    g = np.full((n, K), -1, dtype=np.int64)
    g[rows, j] = (pos - C) // 2
    assert np.all(g >= 0)
    return g


def reference(S, K, a, m, seed):
    """m independent rows of K successive weighted draws without replacement: (m, K)."""
    rng = np.random.default_rng(seed)
    w = a * np.arange(1, S + 1, dtype=np.float64) ** (a - 1)
    W = np.tile(w, (m, 1))
    out = np.empty((m, K), dtype=np.int64)
    for j in range(K):
        cum = np.cumsum(W, axis=1)
        u = rng.random(m) * cum[:, -1]
        idx = np.minimum((cum <= u[:, None]).sum(axis=1), S - 1)
        while np.any(W[np.arange(m), idx] == 0):  # guard against a rounding landing on a used slot
            bad = W[np.arange(m), idx] == 0
            u[bad] = rng.random(bad.sum()) * cum[bad, -1]
            idx[bad] = np.minimum((cum[bad] <= u[bad, None]).sum(axis=1), S - 1)
        out[:, j] = idx
        W[np.arange(m), idx] = 0.0
    return out


def merge_bins(a, b, min_expected=5.0):
    """Merge adjacent bins (in order) until every expected count of the 2 x B table is >= 5."""
    tot = a.sum() + b.sum()
    ra, rb = a.sum() / tot, b.sum() / tot
    out_a, out_b, ca, cb = [], [], 0.0, 0.0
    for i in range(len(a)):
        ca += a[i]
        cb += b[i]
        if min(ra, rb) * (ca + cb) >= min_expected:
            out_a.append(ca)
            out_b.append(cb)
            ca = cb = 0.0
    if ca + cb > 0:
        if out_a:
            out_a[-1] += ca
            out_b[-1] += cb
        else:
            out_a.append(ca)
            out_b.append(cb)
    return np.array(out_a), np.array(out_b)


def homogeneity(a, b):
    """p-value that counts a and b come from the same distribution."""
    a, b = merge_bins(np.asarray(a, float), np.asarray(b, float))
    if len(a) < 2:
        return 1.0
    _, p, _, _ = stats.chi2_contingency(np.vstack([a, b]), correction=False)
    return p


def goodness(counts, probs):
    """p-value of counts against exact probabilities (bins with expected < 5 merged)."""
    n = counts.sum()
    exp = probs * n
    c2, e2, cc, ce = [], [], 0.0, 0.0
    for i in range(len(counts)):
        cc += counts[i]
        ce += exp[i]
        if ce >= 5:
            c2.append(cc)
            e2.append(ce)
            cc = ce = 0.0
    if ce > 0:
        c2[-1] += cc
        e2[-1] += ce
    return stats.chisquare(c2, e2).pvalue


def tables(g, S):
    K = g.shape[1]
    joint = np.stack([np.bincount(g[:, j], minlength=S) for j in range(K)]).ravel()
    return joint, np.bincount(g.ravel(), minlength=S)


def compare(name, g, ref, S, a_ref, expect_same):
    joint, marg = tables(g, S)
    rjoint, rmarg = tables(ref, S)
    p_joint, p_marg = homogeneity(joint, rjoint), homogeneity(marg, rmarg)
    w = a_ref * np.arange(1, S + 1, dtype=np.float64) ** (a_ref - 1)
    p_first = goodness(np.bincount(g[:, 0], minlength=S).astype(float), w / w.sum())
    tag = f"{name}: p(joint)={p_joint:.3g} p(marginal)={p_marg:.3g} p(first pair vs p)={p_first:.3g}"
    if expect_same:
        check(min(p_joint, p_marg, p_first) > ALPHA, tag + f" (all must be > {ALPHA})")
    else:
        check(max(p_joint, p_marg, p_first) < REJECT, tag + f" (control: all must be < {REJECT})")


def main():
    if len(sys.argv) < 3:
        print("usage: mqar_stats.py ZOO_BINARY SCRATCH_DIR")
        return 2
    zoo = sys.argv[1]
    os.makedirs(sys.argv[2], exist_ok=True)
    with tempfile.TemporaryDirectory(dir=sys.argv[2], prefix="zoo-mqar-stats-") as tmp:
        V = 8192
        for (L, K, n, seed) in [(128, 8, 20000, 3), (64, 4, 20000, 4), (64, 16, 10000, 5)]:
            S = (L - 2 * K) // 2
            ref = reference(S, K, 0.01, 10 * n, seed=1000 + L + K)
            x, y = generate(zoo, tmp, V, L, K, n, seed, 0.01)
            g = slot_table(x, y, K)
            compare(f"(L={L}, K={K}) a=0.01 vs power law", g, ref, S, 0.01, True)
            if K == S:
                continue  # every slot used: only the order is random, the controls below cannot differ
            # Controls: the same test must notice a uniform law and a nearby power law.
            xu, yu = generate(zoo, tmp, V, L, K, n, seed, 1.0)
            gu = slot_table(xu, yu, K)
            compare(f"(L={L}, K={K}) a=1 (uniform) vs power law [control]", gu, ref, S, 0.01, False)
            compare(f"(L={L}, K={K}) a=1 vs uniform reference", gu, reference(S, K, 1.0, 10 * n, seed=7 + L), S,
                    1.0, True)
            xn, yn = generate(zoo, tmp, V, L, K, n, seed, 0.1)
            compare(f"(L={L}, K={K}) a=0.1 vs a=0.01 [control]", slot_table(xn, yn, K), ref, S, 0.01, False)
            if L == 128:
                # Keys uniform over [1, V/2), values over [V/2, V): n*K draws into ~4096 bins each.
                keys, vals = x[:, 0:2 * K:2].ravel(), x[:, 1:2 * K:2].ravel()
                kc = np.bincount(keys, minlength=V // 2)[1:]
                vc = np.bincount(vals - V // 2, minlength=V - V // 2)
                pk = stats.chisquare(kc).pvalue
                pv = stats.chisquare(vc).pvalue
                check(keys.min() >= 1 and keys.max() < V // 2 and vals.min() >= V // 2 and vals.max() < V,
                      "key and value ranges")
                check(pk > ALPHA and pv > ALPHA, f"keys uniform p={pk:.3g}, values uniform p={pv:.3g}")
                # and a control: the keys' histogram is not that of a skewed law
                skew = np.bincount(np.minimum(keys, keys[::-1]), minlength=V // 2)[1:]
                check(stats.chisquare(skew).pvalue < REJECT, "skewed key histogram rejected [control]")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("mqar_stats: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
