"""Scaling fits with uncertainties: the d_model a mixer needs for a target accuracy as a
power law of sequence length (OLS in log-log, t-interval on the exponent), and a
logistic curve of accuracy against log2 state bytes (least squares, t-intervals from
the covariance). Each fit reports its residuals and refuses, with the reason, when the
data cannot determine it. Nothing here reads files or plots.
"""
import math

import numpy as np
from scipy import optimize, stats

MIN_POWER_POINTS = 3     # two parameters and at least one degree of freedom for the interval
MIN_LOGISTIC_POINTS = 4  # two parameters, two degrees of freedom
LOGIT_CLIP = 1e-4


class FitRefused(ValueError):
    """The data cannot determine the fit; str() says why."""


def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), LOGIT_CLIP, 1 - LOGIT_CLIP)
    return np.log(p / (1 - p))


def needed_d_model(d_models, values, target):
    """The d_model at which accuracy first reaches `target`, interpolated between the two
    grid points that bracket the first crossing, linearly in (log d_model, logit acc).

    Returns (d, censoring): censoring is "" (inside the grid), "left" (already reached
    at the smallest d_model: the need is <= that) or "right" (never reached: > the
    largest). NaN values are skipped. d is NaN when there is no value at all.
    """
    d = np.asarray(d_models, dtype=float)
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v) & np.isfinite(d) & (d > 0)
    d, v = d[ok], v[ok]
    if d.size == 0:
        return math.nan, "none"
    order = np.argsort(d)
    d, v = d[order], v[order]
    hit = np.flatnonzero(v >= target)
    if hit.size == 0:
        return float(d[-1]), "right"
    i = int(hit[0])
    if i == 0:
        return float(d[0]), "left"
    x0, x1 = math.log(d[i - 1]), math.log(d[i])
    y0, y1, yt = _logit(v[i - 1]), _logit(v[i]), _logit(target)
    if y1 <= y0:
        return float(d[i]), ""
    return float(math.exp(x0 + (yt - y0) * (x1 - x0) / (y1 - y0))), ""


def fit_power_law(x, y, ci=0.95):
    """y = a * x**b by least squares on (log x, log y).

    Returns a dict: b, b_lo, b_hi (the `ci` t-interval), a, a_lo, a_hi, se_b, n, dof,
    residuals (log y - fitted, natural log), rms (of the residuals), r2, ci, and
    predict(x) -> (fit, lo, hi), the fitted mean with its pointwise interval.
    Raises FitRefused with fewer than MIN_POWER_POINTS points or fewer than 2
    distinct x."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    x, y = x[ok], y[ok]
    n = x.size
    if n < MIN_POWER_POINTS:
        raise FitRefused(f"needs at least {MIN_POWER_POINTS} points with a value, has {n}")
    if np.unique(x).size < 2:
        raise FitRefused("needs at least 2 distinct sequence lengths")
    lx, ly = np.log(x), np.log(y)
    xm = lx.mean()
    sxx = float(((lx - xm) ** 2).sum())
    b = float(((lx - xm) * (ly - ly.mean())).sum() / sxx)
    la = float(ly.mean() - b * xm)
    res = ly - (la + b * lx)
    dof = n - 2
    s2 = float((res ** 2).sum() / dof)
    se_b = math.sqrt(s2 / sxx)
    se_la = math.sqrt(s2 * (1.0 / n + xm ** 2 / sxx))
    t = float(stats.t.ppf(0.5 + ci / 2, dof))
    sst = float(((ly - ly.mean()) ** 2).sum())

    def predict(xq):
        lq = np.log(np.asarray(xq, dtype=float))
        fit = la + b * lq
        half = t * np.sqrt(s2 * (1.0 / n + (lq - xm) ** 2 / sxx))
        return np.exp(fit), np.exp(fit - half), np.exp(fit + half)

    return dict(b=b, b_lo=b - t * se_b, b_hi=b + t * se_b, se_b=se_b, a=math.exp(la),
                a_lo=math.exp(la - t * se_la), a_hi=math.exp(la + t * se_la), n=n, dof=dof,
                residuals=res, rms=math.sqrt(float((res ** 2).mean())),
                r2=1.0 - float((res ** 2).sum()) / sst if sst > 0 else 1.0, ci=ci, predict=predict, x=x, y=y)


def logistic(x, x50, k):
    return 1.0 / (1.0 + np.exp(-k * (x - x50)))


def fit_logistic(x, acc, ci=0.95):
    """acc = 1 / (1 + exp(-k (x - x50))) by least squares, x = log2(state bytes).

    Returns a dict: x50 (log2 bytes at accuracy 0.5), x50_lo, x50_hi, k (per doubling),
    k_lo, k_hi, n, dof, residuals (acc - fitted), rms, max_abs_res, ci, k_unresolved
    (no point inside the transition, 0.05 < acc < 0.95: the curve may be any steeper, so
    k's interval is open above and x50's is the bracket of the points around 0.5).
    Raises FitRefused with fewer than MIN_LOGISTIC_POINTS points, fewer than 3
    distinct x, no point on one side of 0.5's neighbourhood, or no convergence."""
    x = np.asarray(x, dtype=float)
    acc = np.asarray(acc, dtype=float)
    ok = np.isfinite(x) & np.isfinite(acc)
    x, acc = x[ok], acc[ok]
    n = x.size
    if n < MIN_LOGISTIC_POINTS:
        raise FitRefused(f"needs at least {MIN_LOGISTIC_POINTS} points with a value, has {n}")
    if np.unique(x).size < 3:
        raise FitRefused("needs at least 3 distinct state sizes")
    if acc.max() < 0.2 or acc.min() > 0.8:
        side = "below 0.2" if acc.max() < 0.2 else "above 0.8"
        raise FitRefused(f"every accuracy is {side}: the transition is outside the state sizes tried")
    k_max = 50.0
    span = float(x.max() - x.min())
    lo = [float(x.min()) - 2 * span - 1, 1e-3]
    hi = [float(x.max()) + 2 * span + 1, k_max]
    # Start at the crossing of 0.5 by interpolation, slope from the spread of x.
    order = np.argsort(x)
    x50_0 = float(np.interp(0.5, np.maximum.accumulate(acc[order]), x[order])) if acc.max() >= 0.5 else float(x.max())
    try:
        p, cov = optimize.curve_fit(logistic, x, acc, p0=[x50_0, 4.0 / max(span, 1e-6)], bounds=(lo, hi),
                                    maxfev=20000)
    except (RuntimeError, ValueError) as e:
        raise FitRefused(f"least squares did not converge ({e})") from None
    x50, k = float(p[0]), float(p[1])
    res = acc - logistic(x, x50, k)
    dof = n - 2
    t = float(stats.t.ppf(0.5 + ci / 2, dof))
    se = np.sqrt(np.diag(cov)) if np.all(np.isfinite(cov)) else np.array([math.inf, math.inf])
    # No point inside the transition: any steeper curve fits as well, so k has no upper
    # bound and x50 is only bracketed by the points on either side of 0.5.
    at_bound = k >= k_max * 0.999 or not np.any((acc > 0.05) & (acc < 0.95))
    if not np.all(np.isfinite(se)) and not at_bound:
        raise FitRefused("the parameters are not identifiable from these points (singular covariance)")
    out = dict(x50=x50, x50_lo=x50 - t * se[0], x50_hi=x50 + t * se[0], k=k, k_lo=max(k - t * se[1], 0.0),
               k_hi=math.inf if at_bound else k + t * se[1], n=n, dof=dof, residuals=res,
               rms=math.sqrt(float((res ** 2).mean())), max_abs_res=float(np.abs(res).max()), ci=ci,
               k_unresolved=bool(at_bound), x=x, y=acc)
    if at_bound:
        out["x50_lo"], out["x50_hi"] = _bracket_05(x, acc)
    return out


def _bracket_05(x, acc):
    """For a step the points cannot resolve: the largest x below 0.5 and the smallest at
    or above it bound x50."""
    below = x[acc < 0.5]
    above = x[acc >= 0.5]
    return (float(below.max()) if below.size else -math.inf, float(above.min()) if above.size else math.inf)
