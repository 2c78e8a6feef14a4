"""NumPy CPU time (time.process_time, 1e6 elements, best of 5) of the kernels helper cost48 (session 48, issue 16)
made cheaper, beside the naive written formula (NumPy, its gradients written out, no stability): benchmarks/cost45.py's
--save and --compare with this table, and a column for the naive form (benchmarks/_cost.py's runner).

    PYTHONPATH=TREE python benchmarks/cost48.py --save DIR      each formula's generated NumPy module, by TREE
    python benchmarks/cost48.py --compare DIR DIR …            the saved modules timed in turn in one process, then
                                                               the naive form (ratios to the first column)

Inputs: a, b N(0, 2) ("ordinary"), and a, b = −U(38, 700) ("far": the log-sum-exp's sum is 1 + tiny, where the
weighted form took double words on every element); WGAN-GP's components U(−1, 1)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cost  # noqa: E402  (the shared --save, --compare and naive runner)


def _normal(*names):
    return lambda r, n: {k: r.normal(0, 2, n) for k in names}


def _far(*names):
    return lambda r, n: {k: -r.uniform(38, 700, n) for k in names}


def _lse(w, a, b):
    s = w * np.exp(a) + np.exp(b) + 1
    return np.log(s), w * np.exp(a) / s, np.exp(b) / s


def _lse_minus_a(a, b):
    s = np.exp(a) + np.exp(b) + 1
    return np.log(s) - a, np.exp(a) / s - 1, np.exp(b) / s


FORMULAS = {
    "lse_1": ("log(exp(a) + exp(b) + 1)", _normal("a", "b"), lambda a, b: _lse(1.0, a, b)),
    "lse_1_far": ("log(exp(a) + exp(b) + 1)", _far("a", "b"), lambda a, b: _lse(1.0, a, b)),
    "lse_2": ("log(2*exp(a) + exp(b) + 1)", _normal("a", "b"), lambda a, b: _lse(2.0, a, b)),
    "lse_2_far": ("log(2*exp(a) + exp(b) + 1)", _far("a", "b"), lambda a, b: _lse(2.0, a, b)),
    "lse_1_minus_a": ("log(exp(a) + exp(b) + 1) - a", _normal("a", "b"), _lse_minus_a),
}


if __name__ == "__main__":
    _cost.main(FORMULAS, __doc__)
