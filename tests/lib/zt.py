"""zt.py: the Python side of tests/lib/testlib.h: load the dumps C tests write,
compare with the same tolerance table (read from testlib.h), and a main() that turns
a per-op PyTorch reference into a few lines. Test helper only; no zoo logic here.

A reference script looks like:

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import zt

    def forward(case, torch):
        x = case.param("x")          # float64, requires_grad
        return torch.nn.functional.gelu(x)

    zt.main(forward)

main() runs forward() on every dump directory given on the command line (or every
subdirectory holding a manifest.json), computes L = sum(out * dout) in float64,
backpropagates, and compares "out" and every "<param>.grad" in the dump.
Exit status: 0 pass, 1 mismatch, 77 torch missing.
"""
import json
import os
import re
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


def _read_tolerances():
    """The one tolerance table: the ZT_TOL_<KIND>_{ATOL,RTOL} lines of testlib.h."""
    tol = {}
    with open(os.path.join(_HERE, "testlib.h")) as f:
        for m in re.finditer(r"#define ZT_TOL_([A-Z]+)_(ATOL|RTOL)\s+([0-9.eE+-]+)", f.read()):
            tol.setdefault(m.group(1).lower(), {})[m.group(2).lower()] = float(m.group(3))
    return {k: (v["atol"], v["rtol"]) for k, v in tol.items()}


TOL = _read_tolerances()


def tol(kind):
    """(atol, rtol) for 'exact', 'fwd', 'bwd', 'gradcheck' or 'train'."""
    return TOL[kind]


class Dump:
    """One dump directory: arrays by name, their roles, and numeric attrs."""

    def __init__(self, path):
        self.path = path
        with open(os.path.join(path, "manifest.json")) as f:
            man = json.load(f)
        self.arrays, self.roles, self.order = {}, {}, []
        for t in man["tensors"]:
            dt = {"f32": "<f4", "i32": "<i4"}[t["dtype"]]
            a = np.fromfile(os.path.join(path, t["file"]), dtype=dt)
            shape = tuple(t["shape"])
            if a.size != int(np.prod(shape)):
                raise ValueError("%s: %s holds %d values, manifest says shape %s" % (path, t["file"], a.size, shape))
            self.arrays[t["name"]] = a.reshape(shape)
            self.roles[t["name"]] = t["role"]
            self.order.append(t["name"])
        self.attrs = man.get("attrs", {})
        self._torch = {}

    def __getitem__(self, name):
        if name not in self.arrays:
            raise KeyError("%s: no tensor '%s' in the dump (have: %s)" % (self.path, name, ", ".join(self.order)))
        return self.arrays[name]

    def __contains__(self, name):
        return name in self.arrays

    def attr(self, key, default=None):
        if key not in self.attrs and default is None:
            raise KeyError("%s: no attr '%s' (have: %s)" % (self.path, key, ", ".join(self.attrs)))
        return self.attrs.get(key, default)

    def names(self, role):
        return [n for n in self.order if self.roles[n] == role]

    def param(self, name):
        """The parameter as a float64 torch leaf with requires_grad (one per name)."""
        import torch

        if name not in self._torch:
            a = self[name]
            t = torch.tensor(a.astype(np.float64), dtype=torch.float64, requires_grad=self.roles[name] == "param")
            self._torch[name] = t
        return self._torch[name]

    def tensor(self, name):
        """An input as torch: float64 for f32 data, int64 for int32 data (indices)."""
        import torch

        a = self[name]
        if a.dtype == np.int32:
            return torch.tensor(a.astype(np.int64))
        return torch.tensor(a.astype(np.float64), dtype=torch.float64)


def load(path):
    """dict name -> numpy array of one dump directory."""
    return Dump(path).arrays


def compare(name, got, ref, atol, rtol, quiet=False):
    """Mirror of zt_compare: NaN/Inf first, then |got-ref| <= atol + rtol*|ref|, with the
    normalised MSE; on failure prints the worst index, the mismatch count and the first
    pairs. Returns True when it passes."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        print("FAIL %s: shape %s, reference %s" % (name, got.shape, ref.shape), file=sys.stderr)
        return False
    for what, a in (("value", got), ("reference", ref)):
        bad = ~np.isfinite(a)
        if bad.any():
            idx = np.unravel_index(np.argmax(bad), a.shape)
            print("FAIL %s: %d %s entries are NaN/Inf; first at %s" % (name, bad.sum(), what, idx), file=sys.stderr)
            return False
    d = np.abs(got - ref)
    lim = atol + rtol * np.abs(ref)
    badm = d > lim
    if not badm.any():
        return True
    nmse = float(((got - ref) ** 2).sum() / max(float((ref ** 2).sum()), 1e-30))
    excess = np.where(badm, d / np.maximum(lim, 1e-300), 0)
    w = np.unravel_index(np.argmax(excess), got.shape)
    if not quiet:
        print("FAIL %s: %d of %d elements outside |got-ref| <= %g + %g*|ref| (normalised MSE %.3e)"
              % (name, badm.sum(), got.size, atol, rtol, nmse), file=sys.stderr)
        print("  worst %s: got %.8g ref %.8g diff %.3g (%.1fx its tolerance)"
              % (tuple(int(i) for i in w), got[w], ref[w], d[w], excess[w]), file=sys.stderr)
        for k in np.argwhere(badm)[:5]:
            k = tuple(int(i) for i in k)
            print("  %s: got %.8g ref %.8g" % (k, got[k], ref[k]), file=sys.stderr)
    return False


def _case_dirs(args):
    dirs = []
    for a in args:
        if os.path.exists(os.path.join(a, "manifest.json")):
            dirs.append(a)
        elif os.path.isdir(a):
            dirs += [os.path.join(a, s) for s in sorted(os.listdir(a))
                     if os.path.exists(os.path.join(a, s, "manifest.json"))]
    return dirs


def check_case(case, forward, torch, fwd_tol="fwd", bwd_tol="bwd"):
    """Run forward(case, torch) -> output; compare it with "out", backpropagate
    sum(out * dout) and compare every parameter gradient. True when all pass."""
    out = forward(case, torch)
    ok = compare("%s: out" % case.path, out.detach().numpy(), case["out"], *tol(fwd_tol))
    dout = torch.tensor(case["dout"].astype(np.float64).reshape(out.shape))
    params = [case.param(n) for n in case.names("param")]
    if out.requires_grad:
        grads = torch.autograd.grad((out * dout).sum(), params, allow_unused=True)
    else:
        grads = [None] * len(params)
    for n, p, g in zip(case.names("param"), params, grads):
        ref = np.zeros(p.shape) if g is None else g.numpy()  # unused: the true gradient is 0
        ok &= compare("%s: %s.grad" % (case.path, n), case[n + ".grad"], ref, *tol(bwd_tol))
    return ok


def main(forward, fwd_tol="fwd", bwd_tol="bwd"):
    """Entry point of a reference script: argv = dump directories (or their parents)."""
    try:
        import torch
    except ImportError:
        print("SKIP: torch is not importable", file=sys.stderr)
        sys.exit(SKIP)
    torch.set_num_threads(1)
    dirs = _case_dirs(sys.argv[1:])
    if not dirs:
        print("FAIL: no dump (manifest.json) under %s" % " ".join(sys.argv[1:]), file=sys.stderr)
        sys.exit(1)
    ok = True
    for d in dirs:
        case = Dump(d)
        good = check_case(case, forward, torch, fwd_tol, bwd_tol)
        print("%s %s" % ("ok  " if good else "FAIL", d))
        ok &= good
    sys.exit(0 if ok else 1)


# ---- mixer layers (tests/lib/mixer_test.c dumps one layer with a config.json) ----------
def knobs_of(text):
    """zoo_hvals_format's "name=value ..." (lists are bracketed and may hold spaces)."""
    return dict(re.findall(r"(\w+)=(\[[^\]]*\]|\S+)", text))


def truth(v):
    return v in ("true", "1", "yes")


def check_mixer(path, make, run=None, trained_by_grad=False):
    """One dumped mixer layer against a PyTorch module: make(cfg) builds it (float64),
    zoo's parameters load by state_dict with strict=True, the trained parameter sets agree,
    then run(model, x, cfg, what) -> (out, ok) (default: model(x), True; a run does the
    mixer's own extra checks, such as the state it carries) and the output, x.grad and
    every parameter's gradient are compared. trained_by_grad: the reference trains what a
    gradient reaches (a parameter its forward never reads is not trained); otherwise what
    requires_grad. A parameter no gradient reaches compares as 0."""
    import torch
    case = Dump(path)
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    pre = cfg["prefix"]
    what = "%s [%s]" % (path, cfg["label"])
    torch.manual_seed(0)
    model = make(cfg).double()
    state = {n[len(pre):]: torch.tensor(case[n].astype("float64"))
             for n in case.order if n.startswith(pre) and case.roles[n] in ("param", "buffer")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        print("FAIL %s: zoo's parameters do not load as the reference's state_dict: %s" % (what, e), file=sys.stderr)
        return False
    x = torch.tensor(case["x"].astype("float64"), requires_grad=True)
    out, ok = run(model, x, cfg, what) if run else (model(x), True)
    ok &= compare("%s: out" % what, case["out"], out.detach().numpy(), *tol("fwd"))
    (out * torch.tensor(case["dout"].astype("float64")).reshape(out.shape)).sum().backward()
    ok &= compare("%s: x.grad" % what, case["x.grad"], x.grad.numpy(), *tol("bwd"))
    zoo_trained = {n[len(pre):-len(".grad")] for n in case.names("grad") if n.startswith(pre)}
    ref_trained = {n for n, p in model.named_parameters()
                   if (p.grad is not None if trained_by_grad else p.requires_grad)}
    if zoo_trained != ref_trained:
        print("FAIL %s: trained parameters differ: zoo only %s, reference only %s"
              % (what, sorted(zoo_trained - ref_trained), sorted(ref_trained - zoo_trained)), file=sys.stderr)
        ok = False
    for n, p in model.named_parameters():
        if n in ref_trained and pre + n + ".grad" in case:
            ref = torch.zeros_like(p) if p.grad is None else p.grad
            ok &= compare("%s: %s.grad" % (what, n), case[pre + n + ".grad"], ref.numpy(), *tol("bwd"))
    return ok


def check_carried(carried, cfg, what, form="the recurrent form"):
    """The floats a reference's step-by-step form carries between tokens (per batch row,
    summed over what it keeps) must equal the plugin's state_size."""
    if carried != cfg["state_size"]:
        print("FAIL %s: %s carries %d floats between tokens, the plugin's state_size says %g"
              % (what, form, carried, cfg["state_size"]), file=sys.stderr)
        return False
    return True


def mixer_main(check):
    """Run check(dir) on every dump directory given (or found) on the command line."""
    import torch
    torch.set_num_threads(1)
    dirs = _case_dirs(sys.argv[1:])
    if not dirs:
        print("FAIL: no dump under %s" % " ".join(sys.argv[1:]), file=sys.stderr)
        sys.exit(1)
    ok = True
    for d in dirs:
        good = check(d)
        print("%s %s" % ("ok  " if good else "FAIL", d))
        ok &= good
    sys.exit(0 if ok else 1)
