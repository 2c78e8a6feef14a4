"""NumPy CPU time (time.process_time, 1e6 elements, best of 5) of the kernels helper cost46 (session 46, issue 16)
changed or was asked to measure, and of three common formulas, float64 and float32: benchmarks/cost45.py's table and
runner with the formulas whose float32 kernels take doubleword._CancellationBound (squareplus′, WGAN-GP's penalty with
two and three components, BCE, the written Bernoulli KL, the Dice loss) and the written GEGLU and Lorentzians beside.

    PYTHONPATH=TREE python benchmarks/cost46.py --save DIR      each formula's generated NumPy module, by TREE
    python benchmarks/cost46.py --compare DIR DIR …            the saved modules timed in turn in one process
    python benchmarks/cost46.py --accuracy                      the worst ULPs of every output (PYTHONPATH's tree)

Inputs: cost45's for its formulas; WGAN-GP's uniform in (−1, 1) (benchmarks/wgan44.py's); probabilities uniform in
(0.01, 0.99); the Lorentzians' g log-uniform in [0.5, 4], x, m N(0, 2).

--accuracy: each formula's f and gradients at 300 points a dtype (cost46_points: the benchmark's inputs and, half of
them, each formula's cancellation: ‖g‖ = 1 ± 10^U(−9, −1), q = p(1 ± …), 1 − p small, x ≪ 0 for squareplus),
against mpmath at 50 digits past the largest input's square (SymPy's derivative of the parsed formula) and torch autograd of the written formula in
float64 rounded to the dtype; the worst ULPs where the truth is a normal number of the dtype."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost45  # noqa: E402  (its table, --save and --compare)


def _prob(r, n):
    return r.uniform(0.01, 0.99, n)


EXTRA = {
    "gradient_penalty": ("(sqrt(gx**2 + gy**2) - 1)**2", lambda r, n: dict(gx=r.uniform(-1, 1, n),
                                                                            gy=r.uniform(-1, 1, n))),
    "gradient_penalty_3": ("(sqrt(gx**2 + gy**2 + gz**2) - 1)**2",
                           lambda r, n: dict(gx=r.uniform(-1, 1, n), gy=r.uniform(-1, 1, n), gz=r.uniform(-1, 1, n))),
    "bce": ("-(t*log(p) + (1 - t)*log(1 - p))", lambda r, n: dict(p=_prob(r, n), t=_prob(r, n))),
    "kl_written": ("p*log(p/q) + (1 - p)*log((1 - p)/(1 - q))", lambda r, n: dict(p=_prob(r, n), q=_prob(r, n))),
    "dice": ("1 - (2*p*t + 1)/(p + t + 1)", lambda r, n: dict(p=_prob(r, n), t=_prob(r, n))),
    "lorentzian": ("1/(1 + ((x - m)/g)**2)", lambda r, n: dict(g=np.exp(r.uniform(np.log(0.5), np.log(4), n)),
                                                                m=r.normal(0, 2, n), x=r.normal(0, 2, n))),
    "lorentzian_written": ("g/(g**2 + (x - m)**2)", lambda r, n: dict(g=np.exp(r.uniform(np.log(0.5), np.log(4), n)),
                                                                      m=r.normal(0, 2, n), x=r.normal(0, 2, n))),
}
KEEP = ("squareplus", "geglu_written", "sigmoid", "x*y + z", "tanh layer")
cost45.FORMULAS = {**{k: cost45.FORMULAS[k] for k in KEEP[:1]}, **EXTRA,
                   **{k: cost45.FORMULAS[k] for k in KEEP[1:]}}


def cost46_points(name, dtype, n=300, seed=46):
    """The benchmark's inputs (n/2) and each formula's cancellation (n/2), float ``dtype``."""
    rng = np.random.default_rng(seed)
    columns = cost45.FORMULAS[name][1](rng, n)
    half = np.arange(n) < n // 2
    near = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-9, -1, n)
    if name.startswith("gradient_penalty"):
        keys = sorted(columns)
        norm = np.sqrt(sum(columns[k] ** 2 for k in keys))
        for k in keys:
            columns[k] = np.where(half, columns[k] / norm * (1 + near), columns[k])
    elif name == "kl_written":
        columns["q"] = np.where(half, columns["p"] * (1 + near), columns["q"])
    elif name in ("bce", "dice"):
        columns["p"] = np.where(half, 1 - np.abs(near), columns["p"])
    elif name == "squareplus":
        columns["x"] = np.where(half, -10.0 ** rng.uniform(0, 15 if dtype == np.float32 else 100, n), columns["x"])
    return {k: v.astype(dtype) for k, v in columns.items()}


def accuracy(names=()):
    """The worst ULPs (mine, torch's) of each output of each formula, both dtypes."""
    import warnings

    import mpmath
    import sympy as sp
    import torch

    import symnet
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from conftest import ulps  # the tests' shared ULP measure
    warnings.simplefilter("ignore")
    for name, (formula, _) in cost45.FORMULAS.items():
        if names and name not in names:
            continue
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        expr = symnet.parse(formula)
        syms = sorted(expr.free_symbols, key=lambda s: s.name)
        real = {s: sp.Symbol(s.name, real=True) for s in syms}
        expr, syms = expr.xreplace(real), [real[s] for s in syms]
        truths = [sp.lambdify(syms, e, "mpmath") for e in [expr] + [sp.diff(expr, s) for s in syms]]
        for dtype in (np.float64, np.float32):
            columns = cost46_points(name, dtype)
            keys = [s.name for s in syms]
            with np.errstate(all="ignore"):
                got = kernel(**columns)
            tensors = [torch.tensor(columns[k].astype(np.float64), requires_grad=True) for k in keys]
            written = sp.lambdify(syms, expr, {"log": torch.log, "sqrt": torch.sqrt, "tanh": torch.tanh,
                                               "exp": torch.exp, "sigmoid": torch.sigmoid})
            value = written(*tensors)
            grads = torch.autograd.grad(value.sum(), tensors, allow_unused=True)
            theirs = [value.detach().numpy()] + [g.numpy() if g is not None else np.zeros(len(value)) for g in grads]
            info = np.finfo(dtype)
            row = []
            # 50 digits past the cancellation of the largest input (squareplus's x + √(x² + 4) at x = −1e100: 200)
            top = max(float(np.max(np.abs(c.astype(np.float64)))) for c in columns.values())
            with mpmath.workdps(50 + 2 * max(0, int(np.log10(top)) + 1)):
                for j, truth in enumerate(truths):
                    mine = their = 0.0
                    for i in range(len(columns[keys[0]])):
                        try:
                            true = truth(*[mpmath.mpf(float(columns[k][i])) for k in keys])
                        except (ZeroDivisionError, ValueError):
                            continue
                        if not (info.tiny <= abs(true) <= info.max) or not mpmath.im(true) == 0:
                            continue
                        mine = max(mine, ulps(got[j][i], true, dtype))
                        with np.errstate(all="ignore"):
                            their = max(their, ulps(dtype(theirs[j][i]), true, dtype))
                    row.append(f"{mine:.3g} ({their:.3g})")
            print(f"{name:20s} {np.dtype(dtype).name:8s} " + "  ".join(row), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--save"]:
        cost45.save(sys.argv[2], sys.argv[3:])
    elif sys.argv[1:2] == ["--compare"]:
        folders = [a for a in sys.argv[2:] if os.path.isdir(a)]
        cost45.compare(folders, [a for a in sys.argv[2:] if a not in folders])
    elif sys.argv[1:2] == ["--accuracy"]:
        accuracy(sys.argv[2:])
    else:
        print(__doc__)
