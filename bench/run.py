#!/usr/bin/python3
"""bench/run.py: training-step throughput (forward + backward + AdamW, tokens/s) of zoo
against the PyTorch implementation of the same model (tests/torchmodel/zoology_ref.py,
imported, not copied), side by side in one invocation. For each configuration the two
run alternately, --reps times each, in fresh processes; the table shows medians and the
ratio zoo / torch. Nothing is judged: the numbers are printed (and optionally written).

    /usr/bin/python3 bench/run.py --build build                 # the attention table
    /usr/bin/python3 bench/run.py --d 64 --l 64 --reps 5        # one configuration
    /usr/bin/python3 bench/run.py --mixers all --d 64,256 --l 64,512 --batch-at 512:4   # every mixer
    /usr/bin/python3 bench/run.py --mixers new --d 64 --l 64 --op-split   # the newer mixers, zoo's step by op

Every mixer zoo has a PyTorch side: attention is tests/torchmodel/zoology_ref.py's MHA,
mamba the model of tests/mamba/check_mamba_model.py (its own blocks), the others the
modules of tests/mixers_ref/ref_mixers.py (imported), built with the knobs
zoo_bench_train reports for its model, and the two models must have the same number of
trainable parameters. "based" is the Zoology hybrid [base_conv k=3, based f=8]. The
newer mixers (--mixers new: gla, mamba2, delta_net, gated_delta_net, rwkv7,
sparse_attention) take the module of their own reference, tests/<mixer>/ref_<mixer>.py's
make(cfg) (gated_delta_net: tests/delta_net/), run through the chunked form of
bench/torch_recurrent.py where it has one; the table's "torch form" column says which
(parallel, chunked, or token loop: a Python loop over the tokens). Mixers whose plugin asks
for Mamba blocks (mamba, mamba2) sit in check_mamba_model's blocks. --op-split adds one
zoo_bench_train --phases 2 run per cell and prints the share of zoo's step each top op
takes, the sequence-mixing op (the recurrence) first.

Both sides get the same threads (--threads, default 2), the same OpenMP wait policy
(zoo's default: passive) and the same thread binding (--omp-bind). PyTorch runs in two
set-ups (--torch-setup):
  tuned      as a performance-minded user runs it: an allocator preloaded
             (--torch-alloc tcmalloc|jemalloc|none) and the OpenMP build of OpenBLAS
             (--torch-openblas-dir, found by path; the system's BLAS alternative is left
             alone), so that torch's intra-op pool and BLAS share one OpenMP pool;
  installed  as installed: glibc malloc and whatever libblas.so.3 the loader binds.
The torch process reports the libraries its posix_memalign and its sgemm_ resolve into
(/proc/self/maps) and run.py stops if they are not the ones asked for. PyTorch runs the
model as Zoology does (the full LM head over every position, --torch-head full);
--torch-head rows|both also times a PyTorch variant that gathers the supervised rows
before the head, as zoo does (same loss and gradients).

--device cuda (bench/README.md, "On a GPU"): zoo_bench_train --backend cuda, run eager
(ZOO_CUDA_GRAPH=0) and with its whole-step CUDA graph (the default), against the same
PyTorch model on torch.device("cuda") in fp32 with TF32 off; one torch column per head,
the ratios torch / zoo (time per step) and their geometric mean over the cells, the GPU's
name in the notes and the JSON. Without a CUDA device in torch the torch side is skipped;
zoo runs that fail show as n/a, and run.py exits non-zero when zoo ran in no cell.
    /usr/bin/python3 bench/run.py --build build-gpu --device cuda --grid fig2 --reps 3
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import torch_recurrent  # noqa: E402  the newer mixers' PyTorch sides (torch itself only in the worker)


def default_kv_pairs(L):
    """Zoology Figure 2's (L, K) pairs: (64, 4), (128, 8), (256, 16), (512, 64)."""
    return L // 8 if L >= 512 else max(1, L // 16)


# ---- the PyTorch side (runs in its own process) -------------------------------------
def torch_worker(a):
    import ctypes

    import numpy as np
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, os.path.join(ROOT, "tests", "torchmodel"))
    import zoology_ref
    sys.path.insert(0, os.path.join(ROOT, "tests", "mixers_ref"))  # the mixer references
    import ref_mixers
    import zt  # on the path ref_mixers sets: the knob-text helpers
    sys.path.insert(0, os.path.join(ROOT, "tests", "mamba"))  # Mamba blocks (imported when used: it needs h5py)

    torch.set_num_threads(a.threads)
    cuda = a.device == "cuda"
    if cuda:
        # fp32 as zoo computes it: no TF32 in matrix products or convolutions
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
    dev = torch.device(a.device)
    torch.manual_seed(0)
    # The layer pattern with every knob as zoo resolved it (zoo_bench_train's "pattern"):
    # attention is zoology_ref's MHA, mamba check_mamba_model's Mamba, a newer mixer its
    # own reference (tests/<mixer>/ref_<mixer>.py), every other mixer ref_mixers' module of
    # the same math; layer l takes entry l mod len, as zoo does.
    pattern = json.loads(a.pattern)

    def knob(entry, name):
        return zt.knobs_of(entry["knobs"])[name]

    def make_mixer(l):
        e = pattern[l % len(pattern)]
        if e["name"] == "attention":
            return zoology_ref.MHA(a.d, int(knob(e, "num_heads")), float(knob(e, "dropout")),
                                   zt.truth(knob(e, "bias")))
        if e["name"] == "mamba":
            k = zt.knobs_of(e["knobs"])
            mk = {n: int(k[n]) for n in ("d_state", "d_conv", "expand", "dt_rank")}
            mk.update({n: zt.truth(k[n]) for n in ("conv_bias", "bias")})
            import check_mamba_model
            return check_mamba_model.Mamba(a.d, **mk)
        cfg = {"mixer": e["name"], "knobs": e["knobs"], "D": a.d, "l_max": a.l, "layer_idx": l,
               "n_layers": a.n_layers}
        ref = torch_recurrent.ref_module(e["name"])
        if ref is None:  # the mixers of Zoology's paper: tests/mixers_ref
            return ref_mixers.make(cfg)
        # a newer mixer: its own reference (tests/<mixer>/ref_<mixer>.py), through its fast
        # form where bench/torch_recurrent.py has one
        return torch_recurrent.fast_module(e["name"], ref.make(cfg))

    # Mamba blocks (add, RMSNorm, mixer; no MLP, no dropout) where zoo_bench_train says so:
    # the model of the mamba.model torchref test (tests/mamba/check_mamba_model.py), its
    # mixers swapped for the pattern's.
    blocks = {e.get("block", "mamba" if e["name"] == "mamba" else "transformer") for e in pattern}
    if "mamba" in blocks:
        if len(blocks) != 1:
            sys.exit("run.py: a layer pattern of Mamba and Transformer blocks has no PyTorch model here")
        import check_mamba_model
        d = check_mamba_model.DEFAULTS
        mk = {n: int(d[n]) for n in ("d_state", "d_conv", "expand", "dt_rank")}
        mk.update({n: check_mamba_model.truthy(d[n]) for n in ("conv_bias", "bias")})
        model = check_mamba_model.LanguageModel({"vocab": a.vocab, "d_model": a.d, "n_layers": a.n_layers,
                                                 "mamba": mk})
        for l, layer in enumerate(model.backbone.layers):
            layer.mixer = make_mixer(l)
        model = model.float()
    else:
        cfg = {"vocab": a.vocab, "seq_len": a.l, "d_model": a.d, "n_layers": a.n_layers, "state_mixer": "identity",
               # learned positions for attention only (zoo's pos_emb auto)
               "pos_emb": any(e["family"] == "attention" for e in pattern), "embed_dropout": 0.1,
               "make_mixer": make_mixer}
        model = zoology_ref.LanguageModel(cfg).float()
    model.to(dev)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)

    # MQAR-shaped batches: K supervised positions per row (speed does not depend on values)
    rng = np.random.default_rng(0)
    B, L, K = a.batch, a.l, a.kv_pairs
    batches = []
    for _ in range(4):
        x = rng.integers(0, a.vocab, size=(B, L))
        y = np.full((B, L), -100)
        for b in range(B):
            pos = rng.choice(np.arange(L // 2, L), size=K, replace=False)
            y[b, pos] = rng.integers(0, a.vocab, size=K)
        batches.append((torch.tensor(x).to(dev), torch.tensor(y).to(dev)))

    def rows_loss(x, y):
        h = model.backbone(x).reshape(-1, a.d)
        yf = y.reshape(-1)
        sel = (yf != -100).nonzero().squeeze(1)
        return F.cross_entropy(model.lm_head(h.index_select(0, sel)), yf.index_select(0, sel))

    def step(i):
        x, y = batches[i % 4]
        opt.zero_grad(set_to_none=True)
        loss = model.loss(x, y) if a.head == "full" else rows_loss(x, y)
        loss.backward()
        opt.step()
        return loss.item()  # as Zoology's training loop reads it: on a GPU, a wait every step

    for i in range(a.warmup):
        step(i)
    import resource
    flt0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    if cuda:
        torch.cuda.synchronize()
    t0, n = time.perf_counter(), 0
    while n < a.steps or time.perf_counter() - t0 < a.min_time:
        loss = step(a.warmup + n)
        n += 1
    if cuda:
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - flt0) / n  # page faults per timed step

    # Which libraries answer sgemm_ and posix_memalign in this process, and every BLAS /
    # allocator library mapped at all. torch's BLAS_INFO is "generic": it calls the Fortran
    # sgemm_ of whatever BLAS the loader binds. posix_memalign is what c10's CPU allocator
    # gets tensor storage from (malloc itself resolves to the non-PIE python's PLT stub).
    with open("/proc/self/maps") as f:
        maps = [ln.split() for ln in f]

    def find(sym):
        # as the loader binds libtorch_cpu's references: the global scope (the program,
        # LD_PRELOAD), then libtorch_cpu's own dependencies (it is dlopen'ed RTLD_LOCAL)
        for lib in (None, os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")):
            try:
                return getattr(ctypes.CDLL(lib), sym)
            except (AttributeError, OSError):
                pass
        return None

    def lib_of(sym):
        f = find(sym)
        if f is None:
            return "?"
        addr = ctypes.cast(f, ctypes.c_void_p).value
        for p in maps:
            lo, hi = (int(v, 16) for v in p[0].split("-"))
            if lo <= addr < hi and len(p) >= 6:
                return os.path.realpath(p[5])
        return "?"

    par = find("openblas_get_parallel")  # OpenBLAS's build: 0 sequential, 1 pthreads, 2 OpenMP
    if par is not None:
        par.restype = ctypes.c_int
        par = {0: "sequential", 1: "pthreads", 2: "openmp"}.get(par(), "?")
    mapped = sorted({os.path.realpath(p[5]) for p in maps if len(p) >= 6 and p[5].startswith("/")
                     and re.search(r"blas|lapack|malloc|libgomp|libiomp", os.path.basename(p[5]))})
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    rec = {"impl": "torch-" + a.head, "d_model": a.d, "seq_len": a.l, "batch": B, "kv_pairs": K,
           "params": params,
           "threads": torch.get_num_threads(), "steps": n, "seconds": dt,
           "tokens_per_s": n * B * L / dt, "loss": loss, "sgemm_from": lib_of("sgemm_"),
           "alloc_from": lib_of("posix_memalign"), "mapped": mapped,
           "openblas_parallel": par, "minor_faults_per_step": faults, "torch": torch.__version__}
    if cuda:
        rec.update(device="cuda", gpu=torch.cuda.get_device_name(dev), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version(), tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                   tf32_cudnn=torch.backends.cudnn.allow_tf32,
                   matmul_precision=torch.get_float32_matmul_precision(),
                   max_memory_mib=torch.cuda.max_memory_allocated(dev) / 1048576.0)
    print(json.dumps(rec))


# ---- the driver ---------------------------------------------------------------------
def linked_openblas(binary):
    """The OpenBLAS shared library the zoo binary loads (from ldd)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.search(r"=>\s*(\S*(?:openblas|libblas)\S*)", line)
        if m:
            return os.path.realpath(m.group(1))
    return None


ALLOC_SONAME = {"tcmalloc": "libtcmalloc_minimal.so.4", "jemalloc": "libjemalloc.so.2"}
ALLOC_PACKAGE = {"tcmalloc": "libtcmalloc-minimal4", "jemalloc": "libjemalloc2"}


def ldconfig_path(soname):
    """Where the loader finds SONAME (from ldconfig -p), or None."""
    for exe in ("/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"):
        try:
            out = subprocess.run([exe, "-p"], capture_output=True, text=True).stdout
            break
        except OSError:
            out = ""
    for line in out.splitlines():
        p = line.strip().split(" => ")
        if len(p) == 2 and p[0].split(" ")[0] == soname:
            return p[1].strip()
    return None


def default_openmp_openblas_dir():
    """Debian's libopenblas0-openmp directory, next to the build the BLAS alternative names."""
    cur = ldconfig_path("libopenblas.so.0")
    cands = []
    if cur:
        cands.append(os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(cur))), "openblas-openmp"))
    import sysconfig
    cands.append(os.path.join("/usr/lib", sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu",
                              "openblas-openmp"))
    for c in cands:
        if os.path.exists(os.path.join(c, "libopenblas.so.0")):
            return c
    return cands[-1]


def is_glibc(path):
    return re.match(r"libc(\.so|-)", os.path.basename(path)) is not None


def check_torch_libs(r, su):
    """Stop unless the torch process loaded the allocator and BLAS its set-up asked for."""
    sg, ma = r.get("sgemm_from", "?"), r.get("alloc_from", "?")
    blases = [m for m in r.get("mapped", []) if re.match(r"lib(open)?blas", os.path.basename(m))]
    ok_alloc = is_glibc(ma) if su["alloc_path"] is None else os.path.realpath(ma) == su["alloc_path"]
    if su["blas_dir"]:
        ok_blas = (os.path.dirname(sg) == su["blas_dir"] and all(os.path.dirname(b) == su["blas_dir"] for b in blases)
                   and r.get("openblas_parallel") == "openmp")
    else:
        ok_blas = sg == su["blas"]
    if not ok_alloc:
        sys.exit("run.py: %s: posix_memalign came from %s, asked for %s" % (
            su["label"], ma, su["alloc_path"] or "glibc's malloc"))
    if not ok_blas:
        sys.exit("run.py: %s: sgemm_ came from %s (BLAS libraries mapped: %s; OpenBLAS threading: %s), asked "
                 "for %s" % (su["label"], sg, ", ".join(blases) or "none", r.get("openblas_parallel"),
                             "the OpenMP build in " + su["blas_dir"] if su["blas_dir"] else su["blas"]))


def run_json(cmd, env, timeout):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()[-2000:]))
    return json.loads(lines[-1])


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# What --mixers names, as zoo_bench_train arguments. "based" is the Zoology Figure 2
# "based" model: the hybrid [BaseConv k=3, Based f=8], as zoo's sweep
# file writes it; its base_conv layer 0 takes kernel_size[0] = 3 of the default list.
MODELS = {
    "based": ["--mixer", "[base_conv, based]", "--mixer.1.feature_dim", "8"],
}
PAPER_MIXERS = "attention,base_conv,hyena,h3,based,sliding_window,linear_attention,rwkv,mamba"
# The newer mixers, each with its own reference (tests/<mixer>/ref_<mixer>.py, make(cfg));
# gated_delta_net's is delta_net's (bench/torch_recurrent.py, REF_OF).
NEW_MIXERS = "gla,mamba2,delta_net,gated_delta_net,rwkv7,sparse_attention"
ALL_MIXERS = PAPER_MIXERS + "," + NEW_MIXERS
MIXER_SETS = {"all": ALL_MIXERS, "paper": PAPER_MIXERS, "new": NEW_MIXERS}


def torch_form(mx):
    """How the PyTorch side of mixer MX computes its sequence mixing, for the table: the
    paper's mixers run ref_mixers' (or zoology_ref's) parallel forms, except the two whose
    scan is a loop over tokens; the newer ones as bench/torch_recurrent.py says."""
    if mx in ("rwkv", "mamba"):
        return "token loop"
    if mx in PAPER_MIXERS.split(","):
        return "parallel"
    return torch_recurrent.form_of(mx)


# The mixers' sequence-mixing ops, listed first in the op split (the recurrence first).
CORE_OPS = ("recurrence", "selective_scan", "wkv", "linear_attention", "attention", "fftconv")


def zoo_model_args(name):
    return MODELS.get(name, ["--mixer", name])


def batch_by_l(default, spec):
    """--batch-at "512:16,1024:8": batch per sequence length, --batch elsewhere."""
    at = {}
    for item in filter(None, spec.split(",")):
        l, b = item.split(":")
        at[int(l)] = int(b)
    return lambda L: at.get(L, default)


# Zoology Figure 2's batch per sequence length (zoo's run spec default, batch_size 0)
FIG2_BATCH = [(64, 512), (128, 512), (256, 256), (512, 128)]


def probe_cuda():
    """What a fresh torch process sees of the GPU, and nvidia-smi -L where there is one."""
    code = ("import json, torch\n"
            "ok = torch.cuda.is_available()\n"
            "print(json.dumps({'torch': torch.__version__, 'torch_cuda_build': torch.version.cuda, 'available': ok,"
            " 'count': torch.cuda.device_count() if ok else 0,"
            " 'name': torch.cuda.get_device_name(0) if ok else None,"
            " 'cudnn': torch.backends.cudnn.version() if ok else None}))\n")
    info = {"available": False}
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        if lines:
            info = json.loads(lines[-1])
        else:
            info["error"] = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
    except (OSError, subprocess.TimeoutExpired) as e:
        info["error"] = str(e)
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            p = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=60)
            info["nvidia_smi"] = [ln.strip() for ln in p.stdout.splitlines() if ln.strip()] or \
                                 ["(nvidia-smi -L: exit %d, %s)" % (p.returncode, p.stderr.strip()[-200:])]
        except (OSError, subprocess.TimeoutExpired) as e:
            info["nvidia_smi"] = ["(nvidia-smi -L: %s)" % e]
    if info.get("name"):
        info["gpu"] = info["name"]
    elif info.get("nvidia_smi") and info["nvidia_smi"][0].startswith("GPU "):
        info["gpu"] = info["nvidia_smi"][0]
    else:
        info["gpu"] = "none found (torch sees no CUDA device%s)" % ("" if smi else "; no nvidia-smi")
    return info


def geomean(vals):
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None


def csv_ints(s):
    return [int(v) for v in s.split(",") if v]


def report_cuda(a, gpu, torch_skip, heads, table, records, failures, skipped, graph_notes, load0, load1, t_start,
                splits):
    """--device cuda: the table (zoo eager, zoo graph, torch per head, torch / zoo ratios and their geometric
    means over the cells), the notes, and the files."""
    def f0(v):
        return "%.0f" % v if v else "n/a"

    def fx(v):
        return "%.2fx" % v if v else "n/a"

    cols = ["mixer", "D", "L", "K", "B", "zoo eager tokens/s", "zoo graph tokens/s"] + (["torch form"] if heads else [])
    for h in heads:
        cols += ["torch (%s head) tokens/s" % h, "torch / zoo graph (%s)" % h, "torch / zoo eager (%s)" % h]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    cells, per = [], {}
    for mx, d, l, K, B, med, got in table:
        ze, zg = med.get("zoo eager"), med.get("zoo graph")
        row = [mx, str(d), str(l), str(K), str(B), f0(ze), f0(zg)] + ([torch_form(mx)] if heads else [])
        cell = {"mixer": mx, "D": d, "L": l, "K": K, "B": B, "torch_form": torch_form(mx),
                "median_tokens_per_s": {"zoo eager": ze, "zoo graph": zg}, "ratios": {},
                "runs_tokens_per_s": {k.replace("torch|cuda|", "torch ") + ("" if k.startswith("zoo") else " head"): v
                                      for k, v in got.items()}}
        for h in heads:
            t = med.get("torch|cuda|%s" % h)
            cell["median_tokens_per_s"]["torch %s head" % h] = t
            row.append(f0(t))
            for zn, z in (("graph", zg), ("eager", ze)):
                # torch's time per step over zoo's = zoo tokens/s over torch tokens/s
                q = z / t if z and t else None
                key = "torch / zoo %s (%s head)" % (zn, h)
                cell["ratios"][key] = q
                row.append(fx(q))
                if q:
                    per.setdefault(key, []).append(q)
        cells.append(cell)
        lines.append("| " + " | ".join(row) + " |")
    gm = {}
    if heads:
        row = ["geometric mean", "", "", "", "", "", "", ""]
        for h in heads:
            row.append("")
            for zn in ("graph", "eager"):
                key = "torch / zoo %s (%s head)" % (zn, h)
                v = per.get(key, [])
                gm[key] = {"geomean": geomean(v), "cells": len(v)}
                row.append("n/a" if not v else fx(geomean(v)) + ("" if len(v) == len(table) else
                                                                  " (%d cells)" % len(v)))
        lines.append("| " + " | ".join(row) + " |")

    zoo_fields = sorted({"%s: backend %s, graph %s" % (r["side"], r.get("backend", "(not reported)"),
                                                        r.get("graph", "(not reported)"))
                         for r in records if r.get("side")})
    tr = next((r for r in records if r.get("setup") == "cuda"), None)
    if tr:
        torch_line = ("torch: %s (CUDA %s, cuDNN %s) on %s, torch.device('cuda'): fp32 with TF32 off "
                      "(matmul.allow_tf32=%s, cudnn.allow_tf32=%s, float32 matmul precision %s); model and "
                      "batches on the device; full head = logits at every position, as Zoology computes it%s; "
                      "loss.item() every step as Zoology's loop (a host wait per step); torch.cuda.synchronize() "
                      "before reading the clock at start and end; torch.set_num_threads(%d); peak GPU memory "
                      "%.0f-%.0f MiB" % (
                          tr["torch"], tr.get("cuda"), tr.get("cudnn"), tr.get("gpu"), tr.get("tf32_matmul"),
                          tr.get("tf32_cudnn"), tr.get("matmul_precision"),
                          "; rows head = the supervised rows gathered before the tied head, as zoo does"
                          if "rows" in heads else "", a.threads,
                          min(r.get("max_memory_mib", 0) for r in records if r.get("setup") == "cuda"),
                          max(r.get("max_memory_mib", 0) for r in records if r.get("setup") == "cuda")))
    else:
        torch_line = "torch: not run (%s)" % (torch_skip or ("--torch-head none" if a.torch_head == "none"
                                                              else "every torch run failed, see below"))
    meta = [
        "command: %s" % " ".join(["/usr/bin/python3", "bench/run.py"] + sys.argv[1:]),
        "GPU: %s%s; torch %s, CUDA build %s" % (
            gpu["gpu"], (" (nvidia-smi -L: %s)" % "; ".join(gpu["nvidia_smi"]))
            if gpu.get("nvidia_smi") and gpu["nvidia_smi"] != [gpu["gpu"]] else "",
            gpu.get("torch", "?"), gpu.get("torch_cuda_build")),
        "host: %s, %d CPUs; %s" % (cpu_name(), os.cpu_count(), platform.platform()),
        "batch %d%s, V %d, %d host threads, %d reps per side (medians), >= %d steps and >= %.1f s per run, "
        "%d warm-up" % (a.batch, (" (at L:B %s)" % a.batch_at) if a.batch_at else "", a.vocab, a.threads, a.reps,
                        a.steps, a.min_time, a.warmup),
        "models: 2 layers, identity state mixer, tied head, embed dropout 0.1, learned positions for attention "
        "only; each mixer's knobs are zoo's plugin defaults (the PyTorch side gets them from zoo_bench_train); "
        "based = the Zoology hybrid [base_conv k=3, based feature_dim=8]; the PyTorch rwkv and mamba scans are "
        "Python loops over L (no fused kernel)",
        "zoo: zoo_bench_train --backend cuda; zoo eager: ZOO_CUDA_GRAPH=0 (each op's kernels launched from the "
        "host every step); zoo graph: ZOO_CUDA_GRAPH unset, the default (the whole step, forward, backward and "
        "AdamW, captured once as a CUDA graph and replayed; step 0 eager, step 1 captured, so use >= 2 warm-up "
        "steps); zoo_bench_train synchronizes after its last timed step; %s"
        % ("; ".join(zoo_fields) if zoo_fields else "no zoo run"),
        torch_line,
    ]
    if heads:
        meta.append("torch / zoo X: torch's time per step over zoo's (zoo X tokens/s over torch tokens/s), above 1 "
                    "when zoo is faster; geometric mean over the cells where both ran")
    meta += ["did not run: %s D=%d L=%d B=%d %s: %s" % (f["mixer"], f["D"], f["L"], f["B"], f["side"],
                                                       (f["error"].splitlines() or ["?"])[-1][-300:])
             for f in failures]
    if skipped:
        meta.append("cells skipped (no zoo run): %s" % ", ".join(skipped))
    meta += ["warning: " + n for n in graph_notes]
    meta.append("load average (1, 5, 15 min): before %.2f %.2f %.2f, after %.2f %.2f %.2f; %.0f s in all"
                % (load0 + load1 + (time.time() - t_start,)))
    if heads:
        meta += form_notes(sorted({t[0] for t in table}, key=[t[0] for t in table].index))
    if splits:
        lines += ["", "zoo's step by op (--op-split, zoo graph's environment):", ""] + op_split_lines(splits, a.op_top)
        meta.append(OP_SPLIT_NOTE)
    return emit(a, lines, meta, {"meta": meta, "device": "cuda", "gpu": gpu, "cells": cells, "geomean": gm,
                                 "failures": failures, "skipped": skipped, "runs": records})


def op_split_lines(splits, top):
    """The phase split of zoo's step per cell (--op-split): forward, backward and AdamW, and
    the share of the step each of the top ops takes (forward + backward kernel time, summed
    over the op's nodes), the mixers' sequence-mixing ops (CORE_OPS) first."""
    lines = ["| mixer | D | L | B | step ms (profiled) | forward / backward / AdamW ms | "
             "top ops: share of the step (forward + backward ms) | all other ops | outside ops |",
             "|---|---|---|---|---|---|---|---|---|"]
    for mx, d, l, B, r in splits:
        ops = r.get("ops", {})
        step = r["forward_s"] + r["backward_s"] + r["adamw_s"]
        core = [o for o in CORE_OPS if o in ops]
        rest = sorted((o for o in ops if o not in core), key=lambda o: -sum(ops[o]))
        shown = core + rest[:top]

        def pct(v):
            return "%.0f%%" % (100.0 * v / step) if step > 0 else "n/a"

        cells = ["**%s** %s (%.2f + %.2f)" % (o, pct(sum(ops[o])), 1e3 * ops[o][0], 1e3 * ops[o][1]) if o in core
                 else "%s %s (%.2f + %.2f)" % (o, pct(sum(ops[o])), 1e3 * ops[o][0], 1e3 * ops[o][1]) for o in shown]
        other = sum(sum(ops[o]) for o in ops if o not in shown)
        outside = step - sum(sum(v) for v in ops.values())  # AdamW, the waits, the graph walk
        lines.append("| %s | %d | %d | %d | %.2f | %.2f / %.2f / %.2f | %s | %s | %s |" % (
            mx, d, l, B, 1e3 * step, 1e3 * r["forward_s"], 1e3 * r["backward_s"], 1e3 * r["adamw_s"],
            "; ".join(cells) or "(no ops reported)", pct(other), pct(outside)))
    return lines


OP_SPLIT_NOTE = ("op split: one extra zoo_bench_train run per cell with --phases 2 (not in the throughput table): "
                 "forward, backward and AdamW each waited for, and every op's kernels timed "
                 "(zoo_graph_profile), summed by op name per step; a share is the op's forward + backward time over "
                 "the profiled step (forward + backward + AdamW), bold = the mixer's sequence-mixing op; 'outside "
                 "ops' is AdamW and what no op's kernel time covers; the waits make this step a little slower than "
                 "the timed ones")


def form_notes(mixers):
    """What the 'torch form' column means, for the mixers of the table."""
    forms = {mx: torch_form(mx) for mx in mixers}
    notes = ["torch form: how the PyTorch side computes the sequence mixing: parallel = the reference's "
             "whole-sequence form; chunked = quadratic within a chunk, state carried across chunks "
             "(bench/torch_recurrent.py, checked against the reference's token loop by ctest "
             "bench.torch_recurrent); token loop = a Python loop over the L tokens (the reference's own, or "
             "selective_scan_ref's for mamba): a ratio against it is against the slow form, not a fast PyTorch"]
    for mx in mixers:
        if mx in torch_recurrent.FAST:
            notes.append("%s: PyTorch side = %s around %s's module" % (
                mx, torch_recurrent.FAST[mx][1], os.path.relpath(torch_recurrent.ref_path(mx), ROOT)))
        elif forms[mx] != "parallel" and torch_recurrent.ref_path(mx):
            notes.append("%s: PyTorch side = %s's forward (%s)" % (
                mx, os.path.relpath(torch_recurrent.ref_path(mx), ROOT), forms[mx]))
    return notes


def emit(a, lines, meta, record):
    """The table and its notes to stdout, and to --markdown / --json when asked."""
    text = "\n".join(lines) + "\n\n" + "\n".join("- " + m for m in meta) + "\n"
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(record, f, indent=1)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("ZOO_BUILD", os.path.join(ROOT, "build")),
                    help="build folder holding bench/zoo_bench_train (default: build, or $ZOO_BUILD)")
    ap.add_argument("--d", default="64,128,256", help="d_model values (comma separated)")
    ap.add_argument("--l", default="64,256", help="sequence lengths (comma separated)")
    ap.add_argument("--mixers", default="attention",
                    help="mixers (comma separated), or a set: 'paper': %s; 'new': %s; 'all': both ('based' is "
                         "the Zoology hybrid [base_conv k=3, based f=8])" % (PAPER_MIXERS, NEW_MIXERS))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batch-at", default="", help="batch per sequence length, e.g. 512:16 (else --batch)")
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--kv-pairs", type=int, default=0, help="K (0: by L as in Zoology Figure 2)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3, help="runs of each side per configuration (median reported)")
    ap.add_argument("--steps", type=int, default=2, help="timed steps per run, at least")
    ap.add_argument("--min-time", type=float, default=3.0, help="timed seconds per run, at least")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed steps before each run's clock (default 1; with --device cuda 3: zoo's step 0 "
                         "runs eagerly and step 1 captures its CUDA graph)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="cpu (default): zoo's CPU backend against PyTorch on the CPU; cuda: zoo_bench_train "
                         "--backend cuda, eager (ZOO_CUDA_GRAPH=0) and with its whole-step CUDA graph, against "
                         "PyTorch on torch.device('cuda') in fp32 (TF32 off); --torch-setup, --torch-alloc and "
                         "--torch-openblas-dir apply to cpu only")
    ap.add_argument("--grid", choices=["fig2"], default=None,
                    help="fig2: Zoology Figure 2's cells, D and L in {64,128,256,512}, batch 512/512/256/128 at "
                         "L = 64/128/256/512 (replaces --d, --l and --batch-at)")
    ap.add_argument("--torch-head", choices=["full", "rows", "both", "none"], default="full",
                    help="full: Zoology's head over all positions; rows: supervised rows only; none: zoo only")
    ap.add_argument("--torch-setup", choices=["tuned", "installed", "both"], default="both",
                    help="tuned: allocator preloaded and OpenBLAS's OpenMP build; installed: glibc malloc and "
                         "the system's libblas.so.3; both: one column each (default)")
    ap.add_argument("--torch-alloc", default="tcmalloc",
                    help="allocator preloaded into the tuned torch process: tcmalloc (default), jemalloc or "
                         "none (glibc); a comma list gives one tuned column per allocator")
    ap.add_argument("--torch-openblas-dir", default=None,
                    help="directory of the OpenMP build of OpenBLAS for the tuned torch process "
                         "(default: Debian's openblas-openmp directory)")
    ap.add_argument("--omp-bind", default="none",
                    help="OMP_PROC_BIND for both sides (e.g. true, close, spread; with OMP_PLACES=cores); "
                         "none: leave threads unbound (default)")
    ap.add_argument("--op-split", action="store_true",
                    help="also run zoo_bench_train --phases 2 once per cell and print the share of zoo's step each "
                         "top op takes, the mixer's sequence-mixing op (the recurrence) first")
    ap.add_argument("--op-top", type=int, default=4, help="--op-split: how many other ops to show (default 4)")
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--json", help="also write every run's record to this file")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--head", default="full", help=argparse.SUPPRESS)
    ap.add_argument("--pattern", default="[]", help=argparse.SUPPRESS)
    ap.add_argument("--n-layers", type=int, default=2, help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.torch_worker:
        a.d, a.l = int(a.d), int(a.l)
        return torch_worker(a)
    if a.grid == "fig2":
        a.d, a.l, a.batch_at = "64,128,256,512", "64,128,256,512", ",".join("%d:%d" % lb for lb in FIG2_BATCH)
    cuda = a.device == "cuda"
    if a.warmup is None:
        a.warmup = 3 if cuda else 1

    zoo_bin = os.path.join(a.build, "bench", "zoo_bench_train")
    if not os.access(zoo_bin, os.X_OK):
        sys.exit("run.py: %s not found: build first (cmake --build %s) or pass --build DIR" % (zoo_bin, a.build))
    blas = linked_openblas(zoo_bin)
    if not blas or "openblas" not in blas:
        sys.exit("run.py: %s does not link OpenBLAS (ldd shows %s): rebuild against libopenblas-dev" % (zoo_bin, blas))

    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    env.setdefault("OMP_WAIT_POLICY", "passive")  # what zoo_prefer_passive_wait gives zoo
    if a.omp_bind != "none":
        env.update(OMP_PROC_BIND=a.omp_bind, OMP_PLACES="cores")
    base_t = dict(env, OPENBLAS_NUM_THREADS=str(a.threads))
    base_t.pop("LD_PRELOAD", None)
    heads = {"full": ["full"], "rows": ["rows"], "both": ["full", "rows"], "none": []}[a.torch_head]
    allocs = [v for v in a.torch_alloc.split(",") if v]
    for al in allocs:
        if al not in ("tcmalloc", "jemalloc", "none"):
            sys.exit("run.py: --torch-alloc %s: choose tcmalloc, jemalloc or none" % al)
    # the PyTorch set-ups, one column each: key, label, environment, what it must load
    setups = []
    gpu, torch_skip = None, None
    if cuda:
        # one torch column (per head): the same process set-up as installed, the model on the GPU
        gpu = probe_cuda()
        print("run.py: --device cuda: GPU %s; torch %s (CUDA build %s)" % (
            gpu["gpu"], gpu.get("torch", "?"), gpu.get("torch_cuda_build")), file=sys.stderr, flush=True)
        if heads and not gpu.get("available"):
            torch_skip = ("torch.cuda.is_available() is False (torch %s, CUDA build %s%s): the torch side is "
                          "skipped, zoo's side still runs" % (
                              gpu.get("torch", "?"), gpu.get("torch_cuda_build"),
                              "; " + gpu["error"] if gpu.get("error") else ""))
            print("run.py: " + torch_skip, file=sys.stderr, flush=True)
            heads = []
        if heads:
            setups.append({"key": "cuda", "label": "torch", "env": base_t})
    if not cuda and a.torch_setup in ("tuned", "both") and heads:
        odir = a.torch_openblas_dir or default_openmp_openblas_dir()
        if not os.path.exists(os.path.join(odir, "libopenblas.so.0")):
            sys.exit("run.py: no OpenMP build of OpenBLAS in %s: apt-get install libopenblas0-openmp "
                     "(or pass --torch-openblas-dir, or --torch-setup installed)" % odir)
        for al in allocs:
            tenv = dict(base_t, LD_LIBRARY_PATH=os.pathsep.join(
                [odir] + [v for v in [os.environ.get("LD_LIBRARY_PATH")] if v]))
            path = None
            if al != "none":
                lib = ldconfig_path(ALLOC_SONAME[al])
                if not lib:
                    sys.exit("run.py: %s not found: apt-get install %s (or --torch-alloc none)"
                             % (ALLOC_SONAME[al], ALLOC_PACKAGE[al]))
                path = os.path.realpath(lib)
                tenv["LD_PRELOAD"] = lib
            label = "torch tuned" + ((" " + (al if al != "none" else "glibc-malloc")) if len(allocs) > 1 else "")
            setups.append({"key": "tuned." + al, "label": label,
                           "env": tenv, "alloc": al, "alloc_path": path, "blas_dir":
                           os.path.dirname(os.path.realpath(os.path.join(odir, "libopenblas.so.0"))), "blas": None})
    if not cuda and a.torch_setup in ("installed", "both") and heads:
        setups.append({"key": "installed", "label": "torch as installed", "env": base_t, "alloc": "none",
                       "alloc_path": None, "blas_dir": None,
                       "blas": os.path.realpath(ldconfig_path("libblas.so.3") or "libblas.so.3")})
    setup_of = {su["key"]: su for su in setups}
    # zoo's sides: on the CPU one; on cuda eager (every kernel launched by the host each step) and
    # the default, one whole-step CUDA graph replayed per step
    if cuda:
        env_graph = dict(env)
        env_graph.pop("ZOO_CUDA_GRAPH", None)
        zsides = [("zoo eager", dict(env, ZOO_CUDA_GRAPH="0")), ("zoo graph", env_graph)]
    else:
        zsides = [("zoo", env)]
    zoo_expect_graph = {"zoo eager": 0, "zoo graph": 1}
    mixers = MIXER_SETS.get(a.mixers, a.mixers)
    for mx in mixers.split(","):  # before any run: a mixer without a PyTorch side stops here
        if heads and mx not in PAPER_MIXERS.split(",") and torch_recurrent.ref_path(mx) is None:
            sys.exit("run.py: mixer %s has no PyTorch reference: expected tests/%s/ref_%s.py with make(cfg) "
                     "(or --torch-head none to time zoo alone)" % ((mx,) + (torch_recurrent.REF_OF.get(mx, mx),) * 2))
    configs = [(mx, d, l) for mx in mixers.split(",") for d in csv_ints(a.d) for l in csv_ints(a.l)]
    batch_of = batch_by_l(a.batch, a.batch_at)

    load0 = os.getloadavg()
    records, table, splits = [], [], []  # splits: (mixer, D, L, B, the --phases 2 record) per cell
    failures, skipped, graph_notes = [], [], []  # (cuda only) what did not run, and why
    t_start = time.time()
    for mx, d, l in configs:
        K = a.kv_pairs or default_kv_pairs(l)
        B = batch_of(l)
        common = ["--threads", str(a.threads), "--steps", str(a.steps), "--warmup", str(a.warmup),
                  "--min-time", str(a.min_time)]
        zcmd = [zoo_bin] + zoo_model_args(mx) + [
            "--d_model", str(d), "--seq_len", str(l), "--batch_size", str(B), "--vocab", str(a.vocab),
            "--kv_pairs", str(K)] + common + (["--backend", "cuda"] if cuda else [])

        def tcmd(h, zrec):
            # the PyTorch model is built from the pattern and knobs zoo reports (rep 0 runs zoo first)
            return [sys.executable, os.path.abspath(__file__), "--torch-worker", "--head", h,
                    "--pattern", json.dumps(zrec["pattern"]), "--n-layers", str(zrec["n_layers"]),
                    "--d", str(d), "--l", str(l), "--batch", str(B), "--vocab", str(a.vocab),
                    "--kv-pairs", str(K)] + common + (["--device", "cuda"] if cuda else [])

        sides = zsides + [("torch|%s|%s" % (su["key"], h), su["env"]) for h in heads for su in setups]
        got = {s[0]: [] for s in sides}
        zrec = None
        failed = {}  # cuda: side -> why it stopped (its cell shows n/a)
        for rep in range(a.reps):
            order = sides if rep % 2 == 0 else sides[::-1]  # alternate who goes first
            for name, e in order:
                is_zoo = name.startswith("zoo")
                if name in failed:
                    continue
                if not is_zoo and zrec is None:  # cuda only: no zoo run gave the model's pattern
                    failed[name] = "not run: no zoo run of this cell to take the model's pattern from"
                    continue
                try:
                    r = run_json(zcmd if is_zoo else tcmd(name.split("|")[2], zrec), e, timeout=3600)
                    if cuda and is_zoo and r.get("backend", "cuda") != "cuda":
                        raise RuntimeError("zoo_bench_train reports backend %r, not cuda" % r["backend"])
                except (RuntimeError, subprocess.TimeoutExpired) as ex:
                    if not cuda:
                        raise
                    failed[name] = str(ex).strip()
                    got[name] = []
                    print("  %-30s %-16s D=%-4d L=%-4d B=%-3d rep %d: FAILED: %s" %
                          (name, mx, d, l, B, rep, failed[name].splitlines()[-1] if failed[name] else "?"),
                          file=sys.stderr, flush=True)
                    continue
                r["rep"], r["mixer"], r["load1"] = rep, mx, os.getloadavg()[0]
                if not is_zoo:
                    r["setup"] = name.split("|")[1]
                elif cuda:
                    r["side"] = name
                    if "graph" in r and r["graph"] != zoo_expect_graph[name]:
                        graph_notes.append("%s D=%d L=%d %s: zoo_bench_train reports graph %s"
                                           % (mx, d, l, name, r["graph"]))
                        print("run.py: warning: " + graph_notes[-1], file=sys.stderr, flush=True)
                records.append(r)
                got[name].append(r["tokens_per_s"])
                if is_zoo:
                    zrec = r
                else:
                    if not cuda:
                        check_torch_libs(r, setup_of[r["setup"]])
                    if r["params"] != zrec["params"]:
                        sys.exit("run.py: %s D=%d L=%d: PyTorch's model has %d trainable parameters, zoo's %d"
                                 % (mx, d, l, r["params"], zrec["params"]))
                print("  %-30s %-16s D=%-4d L=%-4d B=%-3d rep %d: %10.1f tokens/s  (load %.2f)" %
                      (name, mx, d, l, B, rep, r["tokens_per_s"], r["load1"]), file=sys.stderr, flush=True)
        for name, why in failed.items():
            failures.append({"mixer": mx, "D": d, "L": l, "B": B, "side": name, "error": why})
        if cuda and all(z[0] in failed for z in zsides):
            skipped.append("%s D=%d L=%d B=%d" % (mx, d, l, B))
            print("run.py: %s D=%d L=%d: zoo_bench_train --backend cuda did not run; cell skipped"
                  % (mx, d, l), file=sys.stderr, flush=True)
            continue
        if a.op_split:  # one more zoo run, untimed for the table: its ops waited for one by one
            try:
                r = run_json(zcmd + ["--phases", "2"], zsides[-1][1], timeout=3600)
                r.update(rep="op-split", mixer=mx, load1=os.getloadavg()[0], side="zoo --phases 2")
                records.append(r)
                splits.append((mx, d, l, B, r))
            except (RuntimeError, subprocess.TimeoutExpired) as ex:
                if not cuda:
                    raise
                failures.append({"mixer": mx, "D": d, "L": l, "B": B, "side": "zoo --phases 2", "error": str(ex)})
        med = {k: statistics.median(v) for k, v in got.items() if v}
        table.append((mx, d, l, K, B, med, got))
    load1 = os.getloadavg()
    if not table:  # cuda only: no cell ran
        first = failures[0]["error"] if failures else "?"
        sys.exit("run.py: --device cuda: zoo_bench_train --backend cuda ran in no configuration (GPU: %s).\n"
                 "First error: %s%s" % (gpu["gpu"], first, ("\nTorch side: " + torch_skip) if torch_skip else ""))

    if cuda:
        return report_cuda(a, gpu, torch_skip, heads, table, records, failures, skipped, graph_notes, load0, load1,
                           t_start, splits)
    lines = []
    cols = ["mixer", "D", "L", "K", "B", "zoo tokens/s"] + (["torch form"] if heads else [])
    for h in heads:
        for su in setups:
            cols += ["%s (%s head) tokens/s" % (su["label"], h), "zoo / %s (%s)" % (su["label"], h)]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for mx, d, l, K, B, med, got in table:
        row = [mx, str(d), str(l), str(K), str(B), "%.0f" % med["zoo"]] + ([torch_form(mx)] if heads else [])
        for h in heads:
            for su in setups:
                t = med.get("torch|%s|%s" % (su["key"], h))
                row += ["%.0f" % t, "%.2fx" % (med["zoo"] / t)] if t else ["n/a", "n/a"]
        lines.append("| " + " | ".join(row) + " |")
    torch_meta = []
    for su in setups:
        r = next((r for r in records if r.get("setup") == su["key"]), None)
        if r:
            torch_meta.append("%s: torch %s; loaded (from /proc/self/maps): posix_memalign (tensor storage) from "
                              "%s, sgemm_ from %s (OpenBLAS %s build); OPENBLAS_NUM_THREADS=%d%s" % (
                                  su["label"], r["torch"], r["alloc_from"], r["sgemm_from"],
                                  r.get("openblas_parallel"), a.threads,
                                  ", LD_PRELOAD=%s, LD_LIBRARY_PATH=%s" % (su["env"].get("LD_PRELOAD", "(none)"),
                                                                           su["env"]["LD_LIBRARY_PATH"])
                                  if su["blas_dir"] else " (no LD_PRELOAD)"))
    meta = [
        "command: %s" % " ".join(["/usr/bin/python3", "bench/run.py"] + sys.argv[1:]),
        "machine: %s, %d CPUs; %s" % (cpu_name(), os.cpu_count(), platform.platform()),
        "batch %d%s, V %d, %d threads, %d reps per side (medians), >= %d steps and >= %.1f s per run, %d warm-up"
        % (a.batch, (" (at L:B %s)" % a.batch_at) if a.batch_at else "", a.vocab, a.threads, a.reps, a.steps, a.min_time, a.warmup),
        "models: 2 layers, identity state mixer, tied head, embed dropout 0.1, learned positions for attention "
        "only; each mixer's knobs are zoo's plugin defaults (the PyTorch side gets them from zoo_bench_train); "
        "based = the Zoology hybrid [base_conv k=3, based feature_dim=8]; mamba = Mamba blocks (RMSNorm, no MLP, "
        "no dropout) whose PyTorch scan is a loop over L like selective_scan_ref, its CPU path; mamba2 sits in "
        "the same Mamba blocks (as zoo's plugin asks)",
        "zoo: glibc malloc (and its own arena), BLAS %s, OpenMP %d threads, OpenBLAS single-threaded inside them"
        % (blas, a.threads)] + torch_meta + [
        "both sides: OMP_WAIT_POLICY=%s, OMP_NUM_THREADS=%d, %s; torch: torch.set_num_threads(%d)"
        % (env["OMP_WAIT_POLICY"], a.threads,
           "OMP_PROC_BIND=%s OMP_PLACES=cores" % a.omp_bind if a.omp_bind != "none" else "threads not bound",
           a.threads),
        "OpenBLAS settings in the environment (both sides): %s"
        % (", ".join("%s=%s" % kv for kv in sorted(os.environ.items()) if kv[0].startswith("OPENBLAS_")) or "none"),
        "load average (1, 5, 15 min): before %.2f %.2f %.2f, after %.2f %.2f %.2f; 1-min load after each run "
        "%.2f-%.2f; %.0f s in all" % (load0 + load1 + (min(r["load1"] for r in records),
                                                       max(r["load1"] for r in records), time.time() - t_start)),
    ]
    if heads:
        meta += form_notes(sorted({t[0] for t in table}, key=[t[0] for t in table].index))
    if splits:
        lines += ["", "zoo's step by op (--op-split):", ""] + op_split_lines(splits, a.op_top)
        meta.append(OP_SPLIT_NOTE)
    return emit(a, lines, meta, {"meta": meta, "runs": records})


if __name__ == "__main__":
    sys.exit(main())
