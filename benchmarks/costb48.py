"""NumPy CPU time (time.process_time, 1e6 elements, best of 5) of the kernels helper costb48 (session 48, issue 16)
made cheaper: the ArcFace margin logit s·(c·cos m − √(1 − c²)·sin m), whose widened sums took double-word sines and
cosines on every float64 element, at ordinary points and where ∂m and ∂c cancel (c = −cos m), and its spelling
without s; WGAN-GP's penalty and the Student-t NLL beside them (benchmarks/wgan44.py's, cost45.py's inputs), and
the naive written form (NumPy, gradients written out, no stability). benchmarks/_cost.py's --save and --compare:

    PYTHONPATH=TREE python benchmarks/costb48.py --save DIR      each formula's generated NumPy module, by TREE
    python benchmarks/costb48.py --compare DIR DIR …             the saved modules timed in turn in one process,
                                                                 then the naive form (ratios to the first column)"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cost  # noqa: E402  (the shared --save, --compare and naive runner)
import cost45  # noqa: E402  (its Student-t inputs)


def _arc_ordinary(r, n):
    return dict(c=r.uniform(-0.99, 0.99, n), m=r.uniform(0.05, 1.5, n), s=np.full(n, 30.0))


def _arc_cancelling(r, n):
    m = r.uniform(0.05, 1.5, n)
    return dict(c=-np.cos(m), m=m, s=np.full(n, 30.0))


def _arcface(c, m, s=1.0):
    root = np.sqrt(1 - c * c)
    return s * (c * np.cos(m) - root * np.sin(m)), s * (c * np.sin(m) / root + np.cos(m)), \
        -s * (c * np.sin(m) + root * np.cos(m)), c * np.cos(m) - root * np.sin(m)


def _penalty(gx, gy):
    norm = np.sqrt(gx * gx + gy * gy)
    return (norm - 1) ** 2, 2 * (norm - 1) * gx / norm, 2 * (norm - 1) * gy / norm


def _student(mu, nu, x):
    a = (x - mu) ** 2 / nu
    return (nu + 1) / 2 * np.log1p(a), -(nu + 1) * (x - mu) / (nu + (x - mu) ** 2), \
        np.log1p(a) / 2 - (nu + 1) * a / (2 * nu * (1 + a)), (nu + 1) * (x - mu) / (nu + (x - mu) ** 2)


FORMULAS = {
    "arcface": ("s*(c*cos(m) - sqrt(1 - c**2)*sin(m))", _arc_ordinary, _arcface),
    "arcface_cancelling": ("s*(c*cos(m) - sqrt(1 - c**2)*sin(m))", _arc_cancelling, _arcface),
    "arcface_unit": ("c*cos(m) - sqrt(1 - c**2)*sin(m)", lambda r, n: {k: v for k, v in _arc_ordinary(r, n).items()
                                                                        if k != "s"}, _arcface),
    "gradient_penalty": ("(sqrt(gx**2 + gy**2) - 1)**2", lambda r, n: dict(gx=r.uniform(-1, 1, n),
                                                                            gy=r.uniform(-1, 1, n)), _penalty),
    "student_t_3": ("(nu + 1)/2*log(1 + (x - mu)**2/nu)", cost45.FORMULAS["student_t_3"][1], _student),
}


if __name__ == "__main__":
    _cost.main(FORMULAS, __doc__)
