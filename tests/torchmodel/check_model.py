"""check_model.py <dir>: compare what torchmodel.c wrote in <dir> (ckpt.h5, data.h5,
ref.h5) with the PyTorch reference of zoology_ref.py: the step-0 loss and every
parameter gradient (against float64), then the losses of the AdamW steps (against
float64; float32 torch is run too and its spread printed for context).
Exit 0 pass, 1 mismatch, 77 when torch or h5py is missing.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

try:
    import h5py
    import numpy as np
    import torch
except ImportError as e:
    print("SKIP: %s" % e, file=sys.stderr)
    sys.exit(77)

import zt  # noqa: E402
import zoology_ref  # noqa: E402

# Step 0 of a float32 model against float64 torch: the loss is one reduction, the
# gradients go through the whole model, so they get the backward row of the table and,
# tighter, max|diff| <= GRAD_REL * max|ref| per tensor (f32 gets ~1e-6 here). The
# AdamW losses get the train row and, tighter, LOSS_RTOL (f32 gets ~3e-7 relative).
LOSS0_RTOL = 1e-5
GRAD_REL = 1e-5
LOSS_RTOL = 1e-5


def batches(data, B):
    x = np.asarray(data["inputs"]).astype(np.int64)
    y = np.asarray(data["labels"]).astype(np.int64)
    return [(torch.tensor(x[i:i + B]), torch.tensor(y[i:i + B])) for i in range(0, x.shape[0], B)]


def run_torch(ckpt, bs, ref, dtype):
    """Step-0 loss and gradients, then the per-step losses of AdamW as torchmodel.c runs it."""
    model, cfg = zoology_ref.load_checkpoint(ckpt, dtype)
    model.train()  # every dropout is 0, as in the C run
    a = ref.attrs
    opt = torch.optim.AdamW(model.parameters(), lr=float(a["lr"]), betas=(float(a["beta1"]), float(a["beta2"])),
                            eps=float(a["eps"]), weight_decay=float(a["weight_decay"]))
    steps = int(a["steps"])
    losses, grads = [], None
    for s in range(steps + 1):
        x, y = bs[s % len(bs)]
        opt.zero_grad(set_to_none=True)
        loss = model.loss(x, y)
        losses.append(loss.item())
        if s == steps:
            break
        loss.backward()
        if s == 0:
            # named_parameters lists the tied embedding once, under its backbone name
            grads = {n: (np.zeros(tuple(p.shape)) if p.grad is None else p.grad.detach().double().numpy().copy())
                     for n, p in model.named_parameters()}  # unused: the true gradient is 0
        opt.step()
    return np.array(losses), grads


def main():
    if len(sys.argv) != 2:
        print("usage: check_model.py <dir>", file=sys.stderr)
        return 2
    d = sys.argv[1]
    torch.set_num_threads(1)
    ckpt = os.path.join(d, "ckpt.h5")
    with h5py.File(os.path.join(d, "data.h5"), "r") as data, h5py.File(os.path.join(d, "ref.h5"), "r") as ref:
        bs = batches(data, int(ref.attrs["batch"]))
        if len(bs) != int(ref.attrs["batches"]):
            print("FAIL: data.h5 holds %d batches, ref.h5 says %d" % (len(bs), int(ref.attrs["batches"])), file=sys.stderr)
            return 1
        c_losses = np.asarray(ref["losses"], dtype=np.float64)
        c_grads = {k: np.asarray(v, dtype=np.float64) for k, v in ref["grads"].items()}
        try:
            l64, g64 = run_torch(ckpt, bs, ref, torch.float64)
            l32, _ = run_torch(ckpt, bs, ref, torch.float32)
        except ValueError as e:
            print("FAIL: %s" % e, file=sys.stderr)
            return 1

    ok = True
    if abs(c_losses[0] - l64[0]) > LOSS0_RTOL * abs(l64[0]):
        print("FAIL step-0 loss: zoo %.9g torch(f64) %.9g (rel diff %.3g > %g)"
              % (c_losses[0], l64[0], abs(c_losses[0] - l64[0]) / abs(l64[0]), LOSS0_RTOL), file=sys.stderr)
        ok = False

    # Every trainable tensor of the reference has a gradient from zoo and vice versa.
    if set(c_grads) != set(g64):
        print("FAIL gradient names: zoo only %s, torch only %s"
              % (sorted(set(c_grads) - set(g64)), sorted(set(g64) - set(c_grads))), file=sys.stderr)
        ok = False
    atol, rtol = zt.tol("bwd")
    worst = (0.0, "")
    for name in sorted(set(c_grads) & set(g64)):
        got, want = c_grads[name], g64[name]
        # Scale atol by the tensor's gradient size: gradients here are O(1e-3..1e-1).
        scale = max(float(np.abs(want).max()), 1e-12)
        ok &= zt.compare("grad %s" % name, got, want, atol * scale, rtol)
        rel = float(np.abs(got - want).max()) / scale
        worst = max(worst, (rel, name))
        if rel > GRAD_REL:
            print("FAIL grad %s: max|diff|/max|ref| = %.3g > %g" % (name, rel, GRAD_REL), file=sys.stderr)
            ok = False
    print("step-0 loss zoo %.8f torch %.8f; worst gradient max|diff|/max|ref| %.2e (%s), %d tensors"
          % (c_losses[0], l64[0], worst[0], worst[1], len(c_grads)))

    atol, rtol = zt.tol("train")
    ok &= zt.compare("AdamW losses (zoo vs torch f64)", c_losses, l64, atol, rtol)
    ok &= zt.compare("AdamW losses (zoo vs torch f64, tight)", c_losses, l64, LOSS_RTOL, LOSS_RTOL)
    print("AdamW %d steps: max |zoo-f64| %.2e, max |torch f32 - f64| %.2e, loss %.5f -> %.5f"
          % (len(c_losses) - 1, np.abs(c_losses - l64).max(), np.abs(l32 - l64).max(), l64[0], l64[-1]))
    print("ok" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
