"""Why the widened-log-sum rule's float64 kernels run double words nearly everywhere (cost45, session 45, issue 16).

1. For each widened function of the Student-t NLL (3 and 4 inputs) and the negative-binomial NLL, on
   benchmarks/cost45.py's data (2e5 elements): the share of the elements its select takes, and of those the share
   the float64 body's running bound keeps (within 3u).
2. For the three-input Student-t's ∂ν sum, 2·∂ν = log(1 + a) − a(1 + ν)/(ν(1 + a)), a = (x − μ)²/ν, at 2000 of those
   points: the float64 body's true error (mpmath, 40 digits) in units of u = 2⁻⁵³ of |sum|, its bound's, and the
   cancellation Σ|terms|/|sum|; the share where the true error is within 3u: what any bound, however tight, could
   keep.

    PYTHONPATH=. python benchmarks/cost45_probe.py
"""
import pathlib
import re
import sys
import warnings

import mpmath
import numpy as np

import symnet

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import cost45  # noqa: E402

U = 2.0 ** -53


def kept_shares(n=200_000):
    for name in ("student_t_3", "student_t_4", "negative_binomial"):
        source = symnet.compile(symnet.derive(cost45.FORMULAS[name][0]), progress=False).source
        source = source.replace(
            "        if keep.all():",
            "        _STATS.append((_name, np.size(keep), int(np.count_nonzero(keep & needed)), "
            "int(np.count_nonzero(np.broadcast_to(needed, np.shape(keep))))))\n        if keep.all():")
        source = re.sub(r'(def (_dw_widened_[0-9a-f]+)\(.*\):\n    """(?:.|\n)*?"""\n)',
                        lambda m: m.group(1) + f"    _name = '{m.group(2)}'\n", source)
        namespace = {"_STATS": []}
        exec(compile(source, name, "exec"), namespace)  # the generated module, counting
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            namespace["kernel"](**cost45.FORMULAS[name][1](np.random.default_rng(45), n))
        shares = {}
        for function, size, kept, needed in namespace["_STATS"]:
            s = shares.setdefault(function, [0, 0, 0])
            s[0] += size
            s[1] += kept
            s[2] += needed
        for function, (size, kept, needed) in shares.items():
            print(f"{name:18s} {function}: taken at {needed / size:.2f}, float64 body kept at "
                  f"{kept / max(needed, 1):.3f} of those")


def student_t_3_errors(n=2000):
    rng = np.random.default_rng(45)
    cols = cost45.FORMULAS["student_t_3"][1](rng, n)
    mu, nu, x = cols["mu"], cols["nu"], cols["x"]
    d = x - mu
    sq = d * d
    a = sq / nu
    s1 = a + 1.0
    s1e = 4 * U * np.abs(a) + U * np.abs(s1)
    log = np.log(s1)
    loge = (np.bitwise_and(np.abs(log).view(np.int64), 0x7FF0000000000000).view(np.float64) * 2 * U + 5e-324) \
        + s1e / np.maximum(s1 - s1e, 0)
    p2 = sq * (nu + 1.0)
    sns = nu * nu * s1
    snse = nu * nu * s1e
    p3 = p2 / sns
    p3e = (5 * U * np.abs(p2) + np.abs(p3) * (snse + 2 * U * np.abs(sns))) \
        / np.maximum(np.abs(sns) - (snse + 2 * U * np.abs(sns)), 0)
    r = log - p3
    bound = (loge + p3e + U * np.abs(p3) + U * np.abs(r)) / (U * np.abs(r))
    true = np.empty(n)
    with mpmath.workdps(40):
        for i in range(n):
            m_, n_, x_ = (mpmath.mpf(float(v)) for v in (mu[i], nu[i], x[i]))
            aa = (x_ - m_) ** 2 / n_
            t = mpmath.log(1 + aa) - aa * (1 + n_) / (n_ * (1 + aa))
            true[i] = float(abs((r[i] - t) / t)) / U
    cancel = np.maximum(np.abs(log), np.abs(p3)) / np.abs(r)
    q = [0.1, 0.5, 0.9, 0.99]
    print(f"student_t_3 ∂ν sum, {n} points: Σ|terms|/|sum| quantiles {q}: "
          + ", ".join(f"{v:.3g}" for v in np.quantile(cancel, q)))
    print("  float64 body's true error /(u·|sum|): " + ", ".join(f"{v:.3g}" for v in np.quantile(true, q)))
    print("  its running bound /(u·|sum|):         " + ", ".join(f"{v:.3g}" for v in np.quantile(bound, q)))
    print(f"  kept by the bound (≤ 3u): {np.mean(bound <= 3):.3f}; true error ≤ 3u (a perfect bound's most): "
          f"{np.mean(true <= 3):.3f}; ≤ 1.5u: {np.mean(true <= 1.5):.3f}")


if __name__ == "__main__":
    kept_shares()
    student_t_3_errors()
