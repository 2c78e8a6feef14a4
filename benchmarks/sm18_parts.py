"""Where the written 24-term softmax's float64 error comes from, part by part at 60 digits (issue 16, session 18).

    PYTHONPATH=. python3 benchmarks/sm18_parts.py

At the 60 random points of tests/test_lse15.py (_random_spreads) and a_i = −800 + i/8, per point: the compiled
kernel's worst error in ULPs over its 25 outputs (float64, against mpmath), torch.softmax's autograd's, the worst
error of the kernel's float64 terms e^(a_i − m) (its ``_exp_shift``, what the float64 body computes), the error of S
summed exactly from those terms and rounded once, and the worst error of the 25 outputs computed *exactly* from those
float64 terms and rounded once (what no rounding after the terms could improve on). Session 18 measured, before
its change: kernel 2.92 worst, worse than torch at 17 points; terms ≤ 0.60 ULP; S ≤ 0.63; exact-from-the-float64-
terms 2.38 worst, worse than torch at 5 points: the terms' roundings dominate (benchmarks/results/sm18-parts.txt).
"""
from __future__ import annotations

import sys
import types
from pathlib import Path

import mpmath
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import symnet  # noqa: E402
from test_lse15 import N, _SPREAD, _exact_softmax, _random_spreads, _softmax_errors, _torch_worst_softmax  # noqa: E402


def _ulps(got: float, true) -> float:
    return float(abs(mpmath.mpf(float(got)) - true)) / float(np.spacing(abs(float(true))))


def main() -> int:
    points = _random_spreads() + [_SPREAD]
    f = symnet.compile(symnet.derive("exp(a0)/(" + " + ".join(f"exp(a{i})" for i in range(N)) + ")"), progress=False)
    module = types.ModuleType("kernel")
    exec(f.source, module.__dict__)  # noqa: S102 - symnet's own generated code, for its _exp_shift
    a = np.array(points)
    m = a.max(1)
    terms = np.stack([module._exp_shift(a[:, i], m) for i in range(N)], 1)
    ours = _softmax_errors(np.float64, points)
    rows = []
    with mpmath.workdps(60):
        for k, point in enumerate(points):
            exact_terms = [mpmath.exp(mpmath.mpf(v) - max(mpmath.mpf(u) for u in point)) for v in point]
            computed = [mpmath.mpf(float(t)) for t in terms[k]]
            total = mpmath.fsum(computed)
            exact = _exact_softmax(point)
            from_terms = [computed[0] / total] + [computed[0] / total * ((1 if j == 0 else 0) - computed[j] / total)
                                                  for j in range(N)]
            rows.append((k, ours[k], _torch_worst_softmax(np.float64, point),
                         max(_ulps(t, e) for t, e in zip(terms[k], exact_terms)),
                         _ulps(float(total), mpmath.fsum(exact_terms)),
                         max(_ulps(float(o), t) for o, t in zip(from_terms, exact))))
    print(f"{'point':>5} {'kernel':>7} {'torch':>7} {'terms':>7} {'S':>7} {'exact from float64 terms':>25}")
    for k, kernel, torch_, term, total, best in rows:
        print(f"{k:5} {kernel:7.2f} {torch_:7.2f} {term:7.2f} {total:7.2f} {best:25.2f}" + ("  kernel worse than torch"
                                                                                        if kernel > torch_ else ""))
    print(f"worst: kernel {max(r[1] for r in rows):.2f} (worse than torch at {sum(r[1] > r[2] for r in rows)}), "
          f"terms {max(r[3] for r in rows):.2f}, S {max(r[4] for r in rows):.2f}, exact from the float64 terms "
          f"{max(r[5] for r in rows):.2f} (worse than torch at {sum(r[5] > r[2] for r in rows)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
