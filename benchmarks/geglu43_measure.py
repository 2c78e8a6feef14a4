"""Measure ∂a of GEGLU's arrangements near ∂a's root and ∂k, ∂r of the negative-binomial NLL against mpmath (150
digits) and torch autograd float64 (helper geglu43, session 43). Run with PYTHONPATH at the tree to measure:
prints, per formula and point set, symnet's worst ULPs, torch's, the points past the bound and those worse than
torch."""
import sys

import numpy as np

sys.path.insert(0, "tests")
import test_user43  # noqa: E402
from test_user43 import GEGLU_ROOT, _floats_around, _measure, _negbin_points  # noqa: E402

_plain_torch_grad = test_user43._torch_grad


def _torch_grad(formula, names, columns, wrt, dtype):
    """torch autograd's, with the registry's gelu_tanh as torch's own gelu(approximate="tanh")."""
    if "gelu_tanh" not in formula:
        return _plain_torch_grad(formula, names, columns, wrt, dtype)
    import torch
    a, b = (torch.tensor(np.asarray(c, np.float64), dtype=getattr(torch, dtype), requires_grad=True) for c in columns)
    y = torch.nn.functional.gelu(a, approximate="tanh") * b
    return torch.autograd.grad(y.sum(), a)[0].double().numpy()


test_user43._torch_grad = _torch_grad

GEGLUS = {
    "alone": ("a*(1 + tanh(0.7978845608028654*(a + 0.044715*a**3)))/2", ["a"]),
    "times b": ("a*(1 + tanh(0.7978845608028654*(a + 0.044715*a**3)))/2*b", ["a", "b"]),
    "0.5·…·b·c": ("0.5*a*(1 + tanh(0.7978845608028654*(a + 0.044715*a**3)))*b*c", ["a", "b", "c"]),
    "u expanded": ("b*0.5*a*(1.0 + tanh(0.7978845608028654*a + 0.0356774081363001*a**3))", ["a", "b"]),
    "registry": ("gelu_tanh(a)*b", ["a", "b"]),
}


def main(which):
    rng = np.random.default_rng(4343)
    for name, (formula, names) in GEGLUS.items():
        if which and which not in name:
            continue
        for label, a, dtype in [("root±150 floats", _floats_around(GEGLU_ROOT, 150), np.float64),
                                ("root±1e-3 (200)", GEGLU_ROOT + rng.uniform(-1e-3, 1e-3, 200), np.float64),
                                ("root±1e-3 f32", GEGLU_ROOT + rng.uniform(-1e-3, 1e-3, 200), np.float32)]:
            others = [np.full_like(a, v) for v in (1.0, -2.5)[:len(names) - 1]]
            print(f"{name:10} {label:16} ours %.3g torch %.3g past %d worse %d" %
                  _measure(formula, names, [a, *others], "a", dtype), flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
