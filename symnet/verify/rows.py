"""The accuracy of the row-wise registry (issue 16, point 5): softmax, log-softmax, logsumexp,
cross-entropy (class indices and soft targets) and NLL, against mpmath, beside torch.

For each function and option of :data:`symnet.rowwise_registry.ROW_REGISTRY` (label smoothing,
class weights, ``ignore_index``, z-loss, softcap, reductions none/mean/sum), float32 and float64,
the generated kernels (``kernels/numpy``, and ``kernels/triton`` under ``TRITON_INTERPRET=1``
where there is no GPU) and torch's built-ins (``F.softmax``, ``F.log_softmax``,
``torch.logsumexp``, ``F.cross_entropy`` / ``F.nll_loss`` with the same options, gradients by
autograd) are run on the same rows (:func:`row_sets`: random rows N(0, σ), large and huge logits,
near-converged targets, all-equal rows, widths 1, 2, 1023, 1823, ±∞ entries, subnormals) and each
result is compared with its exact value: mpmath at 50 digits, from the row's maximum m and
``log1p(Σ_{z_k < m} e^{z_k − m} + #{z_k = m} − 1)``, so that ``lse − z_k`` and ``p_r − 1`` (by
``expm1``) keep their digits where they are small; its sums (a reduction over rows, Σ_k w_k, …)
are exact, whatever the terms' magnitudes.

The error is in ULPs of the exact value rounded to the dtype, where that value is a normal number
(as :func:`symnet.verify.measure.classify`; the exact value is kept as a double-word hi + lo, so
the comparison is vectorised). A NaN or an infinity where the exact value is finite, or a result
other than that infinity where the exact value overflows the dtype, is a mismatch (an infinite error). A row holding +∞ has logsumexp +∞; its softmax,
log-softmax and losses have no value (∞/∞): nothing is required of them here (tests/test_rowwise7.py
checks that they are torch's NaN).

A :class:`RowCell` is one function, option, output, dtype, implementation and row set; the table
(``benchmarks/accuracy.py --rows``) shows the worst over the row sets, the test
(``tests/test_accuracy_rows.py``) one row set at a time.

    from symnet.verify.rows import measure_rows
    cells = measure_rows(dtypes=("float32",), backends=("numpy",), reduced=True)
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import mpmath
import numpy as np
from mpmath.libmp import mpf_sum

from .spec import BOUNDS

__all__ = ["DPS", "RowSet", "RowCase", "RowCell", "CASES", "row_sets", "measure_rows", "exact_outputs",
           "ulp_errors", "past_bound", "known_failures_text", "KNOWN_ROW_FAILURES", "TRITON_REDUCED_SETS",
           "reduced_cells"]

DPS = 50  # the reference's digits: every cancellation of these rows leaves more than 30 of them
IGNORE = -100


# ------------------------------------------------------------------ rows

@dataclass(frozen=True)
class RowSet:
    """A batch of rows of one kind: logits z (N, V), a class per row, soft targets, an upstream g, weights."""

    name: str
    z: np.ndarray
    classes: np.ndarray
    targets: np.ndarray
    g: np.ndarray
    weight: np.ndarray


def _set(name, z, rng, dtype, classes=None, targets=None) -> RowSet:
    z = np.asarray(z, dtype)
    N, V = z.shape
    if classes is None:
        classes = rng.integers(0, V, N)
    if targets is None:
        targets = rng.dirichlet(np.ones(V), N)
    targets = np.asarray(targets, dtype)
    g = rng.standard_normal((N, V)).astype(dtype)
    weight = rng.uniform(0.2, 3.0, V).astype(dtype)
    return RowSet(name, z, np.asarray(classes, np.int64), targets, g, weight)


def row_sets(dtype: str, reduced: bool = False) -> list[RowSet]:
    """The rows measured for ``dtype`` (fewer of each kind with ``reduced``, for the tests)."""
    dt = np.dtype(dtype).type
    rng = np.random.default_rng(16)
    n = 3 if reduced else 8
    V = 9
    big = 3e38 if dtype == "float32" else 1e308
    sets = []
    for sigma in (1.0, 10.0, 1e3):
        sets.append(_set(f"N(0,{sigma:g})", rng.standard_normal((n, V)) * sigma, rng, dt))
    large = rng.choice([-1e4, 1e4], (n, 1)) + rng.standard_normal((n, V)) * 3
    large[0] = np.where(np.arange(V) % 2, 1e4, -1e4)  # ±1e4 in one row
    sets.append(_set("±1e4", large, rng, dt))
    huge = rng.uniform(-1, 1, (n, V)) * big
    huge[0, :2] = big  # a tie at the maximum
    huge[1] = np.where(np.arange(V) % 2, big, -big)
    sets.append(_set(f"±{big:g}", huge, rng, dt))
    # near-converged: the class's logit far above the rest (p_r − 1 tiny), the soft target nearly softmax(z)
    conv = rng.standard_normal((n, V)) * 2
    r = rng.integers(0, V, n)
    conv[np.arange(n), r] += np.linspace(8, 30 if dtype == "float64" else 14, n)
    p = np.exp(conv - conv.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    t = p * (1 + 1e-3 * rng.standard_normal((n, V)))
    sets.append(_set("near-converged", conv, rng, dt, classes=r, targets=t / t.sum(1, keepdims=True)))
    equal = np.array([0.0, 1.5, -1e4, 1e4, big / 2, -big / 2, 1e-30, -7.25][:n])[:, None] * np.ones((1, V))
    sets.append(_set("all equal", equal, rng, dt))
    for width, count, sigma in ((1, n, 3.0), (2, n, 3.0), (1023, 2 if reduced else 4, 5.0),
                                (1823, 1 if reduced else 3, 1.0)):
        sets.append(_set(f"width {width}", rng.standard_normal((count, width)) * sigma, rng, dt))
    masked = rng.standard_normal((n, V)) * 3
    masked[rng.uniform(size=(n, V)) < 0.4] = -np.inf
    masked[:, 0] = 1.0  # never a whole row
    cls = rng.integers(0, V, n)
    cls[1:] = 0  # the classes that are not masked, but the first row's may be
    sets.append(_set("−∞ entries", masked, rng, dt, classes=cls))
    plus = rng.standard_normal((3, V))
    plus[0, 2] = np.inf
    plus[1, [1, 4]] = np.inf
    plus[2, [0, 3]] = [np.inf, -np.inf]
    sets.append(_set("+∞ entries", plus, rng, dt))
    tiny = float(np.finfo(dtype).tiny)
    sub = rng.integers(-200, 200, (n, V)) * float(np.finfo(dtype).smallest_subnormal)
    sub[1] = rng.uniform(-1, 1, V) * tiny
    sets.append(_set("subnormal", sub, rng, dt))
    return sets


# ------------------------------------------------------------------ cases

@dataclass(frozen=True)
class RowCase:
    """One function with one set of options; outputs: the value's name, then the gradients'."""

    function: str  # the row registry's name
    option: str  # as the table prints it
    outputs: tuple[str, ...]
    options: dict = field(default_factory=dict)  # label_smoothing, softcap, z_loss_scale, reduction,
    # weighted (bool), ignore (bool: every third row's class is ignore_index)


def _ce(option, **o):
    return RowCase("cross_entropy", option, ("loss", "dz"), o)


def _soft(option, **o):
    return RowCase("cross_entropy_soft", option, ("loss", "dz", "dt"), o)


def _nll(option, **o):
    return RowCase("nll_loss", option, ("loss", "dz"), o)


CASES: tuple[RowCase, ...] = (
    RowCase("softmax", "g ~ N(0,1)", ("p", "dz")),
    RowCase("log_softmax", "g ~ N(0,1)", ("l", "dz")),
    RowCase("logsumexp", "", ("lse", "dz")),
    _ce("none"), _ce("ε=0.1", label_smoothing=0.1), _ce("weight", weighted=True),
    _ce("weight ε=0.1", weighted=True, label_smoothing=0.1), _ce("ignore_index", ignore=True),
    _ce("z-loss λ=1e-4", z_loss_scale=1e-4), _ce("softcap s=30", softcap=30.0),
    _ce("softcap s=30 z-loss ε=0.1", softcap=30.0, z_loss_scale=1e-4, label_smoothing=0.1),
    _ce("mean", reduction="mean"), _ce("mean weight ignore ε=0.1", reduction="mean", weighted=True, ignore=True,
                                       label_smoothing=0.1),
    _ce("sum ε=0.1", reduction="sum", label_smoothing=0.1),
    _soft("none"), _soft("ε=0.2", label_smoothing=0.2), _soft("weight", weighted=True),
    _soft("z-loss λ=1e-4", z_loss_scale=1e-4), _soft("softcap s=30", softcap=30.0),
    _soft("mean weight ε=0.2", reduction="mean", weighted=True, label_smoothing=0.2),
    _soft("sum", reduction="sum"),
    _nll("none"), _nll("weight", weighted=True), _nll("ignore_index", ignore=True),
    _nll("mean weight ignore", reduction="mean", weighted=True, ignore=True), _nll("sum", reduction="sum"),
)


def _arguments(case: RowCase, rows: RowSet) -> dict:
    o = case.options
    classes = rows.classes.copy()
    if o.get("ignore"):
        classes[::3] = IGNORE
    return {"classes": classes, "targets": rows.targets, "weight": rows.weight if o.get("weighted") else None,
            "eps": o.get("label_smoothing", 0.0), "cap": o.get("softcap"), "lam": o.get("z_loss_scale", 0.0),
            "reduction": o.get("reduction", "none")}


# ------------------------------------------------------------------ the exact values

class _Row:
    """One row in mpmath: the capped logits c, m, log1p(…), lse − c_k, p_k, lse (NaN with a +∞ entry)."""

    def __init__(self, row, cap=None, dtype="float64"):
        zs = [mpmath.mpf(float(x)) for x in row]
        self.z = zs
        if cap is not None:
            s = mpmath.mpf(float(np.dtype(dtype).type(cap)))
            self.c = [s * mpmath.tanh(x / s) for x in zs]
            self.chain = [1 / mpmath.cosh(x / s) ** 2 for x in zs]  # ∂c_k/∂z_k = sech²(z_k/s)
        else:
            self.c, self.chain = zs, None
        m = max(self.c)
        self.infinite = m == mpmath.inf
        if self.infinite:
            self.lse, self.gap, self.p = mpmath.inf, None, None
            return
        rest = _sum(mpmath.exp(x - m) for x in self.c if x < m) + (sum(x == m for x in self.c) - 1)
        log_sum = mpmath.log1p(rest)
        self.gap = [(m - x) + log_sum for x in self.c]  # lse − c_k, +∞ at a −∞ entry
        self.p = [mpmath.exp(-d) for d in self.gap]
        self.lse = m + log_sum


def _sum(terms):
    """The exact sum of mpf terms (mpmath.fsum rounds to the working precision between terms, so 1.5 is
    lost beside ±5e307: a reduction over rows of all magnitudes needs it exact), ±∞ and NaN as IEEE."""
    return mpmath.mpf(mpf_sum([mpmath.mpf(x)._mpf_ for x in terms], 0))


def _times(a, b):
    """a·b with 0·∞ = 0 (a zero weight on a masked entry adds nothing)."""
    return mpmath.mpf(0) if a == 0 or b == 0 else a * b


def _ce_row(row: _Row, V, c, w, eps, lam, soft_t=None):
    """(loss, dz, dt) of one row: class index c or soft targets soft_t (dt None for a class)."""
    nan = mpmath.nan
    if row.infinite:
        return nan, [nan] * V, ([nan] * V if soft_t is not None else None)
    if soft_t is not None:
        a = [w[k] * ((1 - eps) * soft_t[k] + eps / V) for k in range(V)]
        loss = _sum(_times(a[k], row.gap[k]) for k in range(V))
        total = _sum(a)
        dz = [row.p[k] * total - a[k] for k in range(V)]
        dt = [_times(w[k] * (1 - eps), row.gap[k]) for k in range(V)]
    else:
        loss = _times(w[c] * (1 - eps), row.gap[c])
        if eps:
            loss += eps / V * _sum(_times(w[k], row.gap[k]) for k in range(V))
        sw = _sum(w)
        dz = []
        for k in range(V):
            hot = w[c] * (1 - eps) * (mpmath.expm1(-row.gap[k]) if k == c else row.p[k])
            dz.append(hot + (eps / V * (sw * row.p[k] - w[k]) if eps else 0))
        dt = None
    if lam:
        loss += lam * row.lse ** 2
        dz = [d + 2 * lam * row.lse * p for d, p in zip(dz, row.p)]
    if row.chain is not None:
        dz = [d * f for d, f in zip(dz, row.chain)]
    return loss, dz, dt


def exact_outputs(case: RowCase, rows: RowSet, basis: dict) -> dict:
    """{output: list (rows) of mpf or of lists of mpf} — the exact values of ``case`` on ``rows``.
    ``basis`` caches the rows in mpmath, keyed by the softcap."""
    dtype = rows.z.dtype.name
    a = _arguments(case, rows)
    cap = a["cap"] if case.function.startswith("cross_entropy") else None
    if cap not in basis:
        basis[cap] = [_Row(z, cap, dtype) for z in rows.z]
    base = basis[cap]
    N, V = rows.z.shape
    mp = lambda x: mpmath.mpf(float(x))  # noqa: E731
    nan = mpmath.nan
    if "g" not in basis:
        basis["g"] = [[mp(x) for x in row] for row in rows.g]
    g = basis["g"]
    if case.function == "softmax":
        p = [[nan] * V if b.infinite else b.p for b in base]
        dz = []
        for b, gi in zip(base, g):
            if b.infinite:
                dz.append([nan] * V)
                continue
            s = _sum(x * y for x, y in zip(gi, b.p))
            dz.append([pk * (gk - s) for pk, gk in zip(b.p, gi)])
        return {"p": p, "dz": dz}
    if case.function == "log_softmax":
        l_ = [[nan] * V if b.infinite else [-d for d in b.gap] for b in base]
        # Σ_i g_i once a row (it was summed again for every entry: V² terms, 3.3 million a row 1,823 wide, 55% of
        # tests/test_accuracy_rows.py's NumPy half)
        dz = [[nan] * V if b.infinite else (lambda s: [gk - pk * s for gk, pk in zip(gi, b.p)])(_sum(gi))
              for b, gi in zip(base, g)]
        return {"l": l_, "dz": dz}
    if case.function == "logsumexp":
        return {"lse": [b.lse for b in base], "dz": [[nan] * V if b.infinite else b.p for b in base]}
    w = [mpmath.mpf(1)] * V if a["weight"] is None else [mp(x) for x in a["weight"]]
    # the options as the caller passed them (Python floats: doubles), whatever the logits' dtype: the kernels
    # read them so (torch rounds them to float32 in a float32 loss, a 3–190 ULP difference in a float32 gradient
    # with label smoothing that is then torch's, not the reference's)
    eps, lam = mp(float(a["eps"])), mp(float(a["lam"]))
    soft = case.function == "cross_entropy_soft"
    loss, dz, dt, divisor = [], [], [], mpmath.mpf(0)
    for n, b in enumerate(base):
        c = int(a["classes"][n])
        if case.function == "nll_loss":
            if c == IGNORE:
                loss.append(mpmath.mpf(0)), dz.append([mpmath.mpf(0)] * V)
                continue
            divisor += w[c]
            loss.append(-w[c] * b.z[c])
            dz.append([-w[c] if k == c else mpmath.mpf(0) for k in range(V)])
            continue
        if not soft and c == IGNORE:
            loss.append(mpmath.mpf(0)), dz.append([mpmath.mpf(0)] * V)
            continue
        divisor += 1 if soft else w[c]
        t = [mp(x) for x in a["targets"][n]] if soft else None
        row_loss, row_dz, row_dt = _ce_row(b, V, c, w, eps, lam, t)
        loss.append(row_loss), dz.append(row_dz), dt.append(row_dt)
    out = {"loss": loss, "dz": dz}
    if soft:
        out["dt"] = dt
    if a["reduction"] != "none":
        scale = mpmath.mpf(1)
        if a["reduction"] == "mean":  # no rows that count: 0/0, NaN, as in torch
            scale = 1 / divisor if divisor else nan
        total = _sum(loss) if not any(mpmath.isnan(x) for x in loss) else nan
        out = {k: [[_times(x, scale) for x in row] for row in v] for k, v in out.items() if k != "loss"}
        out["loss"] = [total * scale]
    return out


def _double_word(values) -> tuple[np.ndarray, np.ndarray]:
    """mpf values (nested lists) → float64 hi, lo, hi + lo = the value to ~2⁻¹⁰⁶ (hi ±∞ beyond range)."""
    flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
    hi = np.empty(len(flat))
    lo = np.zeros(len(flat))
    for n, x in enumerate(flat):
        h = hi[n] = float(x)  # rounded to nearest: ±inf beyond the range, NaN for NaN
        if h != 0 and math.isfinite(h):
            lo[n] = float(x - h)
    return hi, lo


def ulp_errors(got, hi, lo, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """(error in ULPs where the exact value hi + lo rounded to ``dtype`` is normal, else 0; mismatch mask).
    A mismatch: NaN, or infinite on one side only. Where the exact value is undefined (NaN: a row holding
    +∞ has no softmax) nothing is required."""
    got = np.asarray(got, np.float64).reshape(-1)
    fi = np.finfo(dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        td = hi.astype(dtype).astype(np.float64)
        true_nan, true_inf = np.isnan(hi), np.isinf(td)
        mismatch = ~true_nan & ((true_inf & (got != td)) | (~true_inf & (np.isinf(got) | np.isnan(got))))
        normal = ~true_nan & ~true_inf & (np.abs(td) >= fi.tiny)
        mag = np.abs(td).astype(dtype)
        step = np.spacing(mag).astype(np.float64)
        top = np.isinf(step)  # the largest finite number: the step below it
        step[top] = np.spacing(np.nextafter(mag[top], np.zeros_like(mag[top]))).astype(np.float64)
        err = np.abs((got - hi) - lo) / step
    err = np.where(normal & ~mismatch & np.isfinite(got), err, 0.0)
    return err, mismatch


# ------------------------------------------------------------------ the implementations

def _numpy_run(case: RowCase, rows: RowSet, a: dict) -> list[dict]:
    """[{output: values}, …]: the value kernel's output and the _grad kernel's (value and gradient)."""
    from ..kernels import load_kernel
    z = rows.z
    f = case.function
    if f in ("softmax", "log_softmax", "logsumexp"):
        mod = load_kernel(f, "numpy")
        name = case.outputs[0]
        if f == "logsumexp":
            value, grad = mod.logsumexp_grad(z)
        else:
            value, grad = getattr(mod, f + "_grad")(z, rows.g)
        return [{name: getattr(mod, f)(z)}, {name: value, "dz": grad}]
    return _loss_run(case, a, load_kernel(_module(f), "numpy"), z, lambda x: x)


def _module(function: str) -> str:
    return "cross_entropy" if function.startswith("cross_entropy") else function


def _loss_run(case, a, mod, z, convert):
    """The loss kernels of a (numpy or triton) module; ``convert`` makes their arguments."""
    f = case.function
    w = None if a["weight"] is None else convert(a["weight"])
    if f == "nll_loss":
        args = (convert(z), convert(a["classes"]), w, IGNORE, a["reduction"])
        kw = {}
    else:
        soft = f == "cross_entropy_soft"
        target = convert(a["targets"] if soft else a["classes"])
        args = (convert(z), target, w) + (() if soft else (IGNORE,)) + (a["reduction"],)
        kw = {"label_smoothing": a["eps"], "softcap": a["cap"], "z_loss_scale": a["lam"]}
    value = getattr(mod, f)(*args, **kw)
    loss, dz = getattr(mod, f + "_grad")(*args, **kw)
    return [{"loss": value}, {"loss": loss, "dz": dz}]


def _triton_run(case: RowCase, rows: RowSet, a: dict) -> list[dict]:
    import torch

    from ..kernels import load_kernel
    device = "cuda" if torch.cuda.is_available() else "cpu"
    convert = lambda x: torch.from_numpy(np.ascontiguousarray(x)).to(device)  # noqa: E731
    back = lambda d: {k: np.asarray(v.cpu().numpy() if hasattr(v, "cpu") else v) for k, v in d.items()}  # noqa: E731
    f = case.function
    z = convert(rows.z)
    if f in ("softmax", "log_softmax", "logsumexp"):
        mod = load_kernel(f, "triton")
        name = case.outputs[0]
        value, grad = mod.logsumexp_grad(z) if f == "logsumexp" else getattr(mod, f + "_grad")(z, convert(rows.g))
        return [back({name: getattr(mod, f)(z)}), back({name: value, "dz": grad})]
    return [back(d) for d in _loss_run(case, a, load_kernel(_module(f), "triton"), rows.z, convert)]


def _torch_run(case: RowCase, rows: RowSet, a: dict) -> list[dict]:
    """torch's built-in in the rows' dtype, gradients by autograd (the upstream g for softmax, log-softmax)."""
    import torch

    from ..rowwise_registry import _torch_ce
    F = torch.nn.functional
    z = torch.from_numpy(rows.z.copy()).requires_grad_()
    f = case.function
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if f in ("softmax", "log_softmax"):
            out = getattr(F, f)(z, -1)
            (dz,) = torch.autograd.grad(out, z, torch.from_numpy(rows.g))
            return [{case.outputs[0]: out.detach().numpy(), "dz": dz.numpy()}]
        if f == "logsumexp":
            out = torch.logsumexp(z, -1)
            (dz,) = torch.autograd.grad(out.sum(), z)
            return [{"lse": out.detach().numpy(), "dz": dz.numpy()}]
        w = None if a["weight"] is None else torch.from_numpy(a["weight"])
        if f == "nll_loss":
            out = F.nll_loss(z, torch.from_numpy(a["classes"]), weight=w, ignore_index=IGNORE,
                             reduction=a["reduction"])
            (dz,) = torch.autograd.grad(out.sum(), z)
            return [{"loss": out.detach().numpy(), "dz": dz.numpy()}]
        soft = f == "cross_entropy_soft"
        target = torch.from_numpy(a["targets"].copy()).requires_grad_() if soft else torch.from_numpy(a["classes"])
        out = _torch_ce(torch, z, target, weight=w, ignore_index=IGNORE, reduction=a["reduction"],
                        label_smoothing=a["eps"], softcap=a["cap"], z_loss_scale=a["lam"])
        grads = torch.autograd.grad(out.sum(), (z, target) if soft else (z,))
        res = {"loss": out.detach().numpy(), "dz": grads[0].numpy()}
        if soft:
            res["dt"] = grads[1].numpy()
        return [res]


RUNNERS = {"symnet numpy": _numpy_run, "symnet triton": _triton_run, "torch built-in": _torch_run}


# ------------------------------------------------------------------ cells

@dataclass
class RowCell:
    """The worst error of one implementation on one output of one case, dtype and row set."""

    function: str
    option: str
    output: str
    dtype: str
    rows: str  # the row set's name
    implementation: str
    worst_ulp: float = 0.0  # where the exact value is normal
    worst_at: str = ""
    mismatches: int = 0
    mismatch_at: str = ""
    points: int = 0  # results compared where the exact value is normal
    failed: str = ""  # the implementation raised (its message), or it has no such output

    @property
    def figure(self) -> float:
        """One number: inf for a mismatch, NaN where nothing was measured."""
        if self.failed:
            return math.nan
        return math.inf if self.mismatches else self.worst_ulp

    def add(self, got, hi, lo, shape) -> None:
        err, mismatch = ulp_errors(got, hi, lo, self.dtype)
        self.points += int(np.isfinite(hi).sum())

        def where(n):
            idx = np.unravel_index(int(n), shape) if len(shape) else ()
            return (f"row {idx[0]}" + (f" entry {idx[1]}" if len(idx) > 1 else "")) if idx else "the reduction"
        if mismatch.any():
            n = int(np.argmax(mismatch))
            if not self.mismatches:
                g = np.asarray(got, np.float64).reshape(-1)[n]
                self.mismatch_at = f"{where(n)} (got {g:.17g}, exact {hi[n]:.17g})"
            self.mismatches += int(mismatch.sum())
        if err.size and err.max() > self.worst_ulp:
            n = int(np.argmax(err))
            g = np.asarray(got, np.float64).reshape(-1)[n]
            self.worst_ulp = float(err[n])
            self.worst_at = f"{where(n)} (got {g:.17g}, exact {hi[n]:.17g} + {lo[n]:.3g})"


def measure_rows(dtypes=("float32", "float64"), backends=("numpy",), reduced: bool = False, cases=CASES,
                 torch: bool = True, sets=None) -> list[RowCell]:
    """A :class:`RowCell` for every case × output × dtype × row set (:func:`row_sets`, fewer rows with
    ``reduced``) × implementation: symnet's ``backends`` ("numpy", "triton": needs torch and triton),
    and with ``torch`` torch's built-in. ``sets``: only the row sets of these names. A kernel that
    raises gives cells whose ``failed`` holds its message; nothing else is caught.

    Raises:
        ImportError: torch (or triton) is not installed where torch or the Triton backend is asked for.
    """
    impls = [f"symnet {b}" for b in backends] + (["torch built-in"] if torch else [])
    threads = None
    if torch or "triton" in backends:  # rows this small: one thread (a pool of them only waits on the others)
        import torch as _torch
        threads = _torch.get_num_threads()
        _torch.set_num_threads(1)
    try:
        return _measure(dtypes, impls, reduced, cases, sets)
    finally:
        if threads is not None:
            _torch.set_num_threads(threads)


def _measure(dtypes, impls, reduced, cases, sets) -> list[RowCell]:
    cells: dict[tuple, RowCell] = {}
    for dtype in dtypes:
        for rows in row_sets(dtype, reduced):
            if sets is not None and rows.name not in sets:
                continue
            basis: dict = {}
            with mpmath.workdps(DPS):
                for case in cases:
                    want = exact_outputs(case, rows, basis)
                    a = _arguments(case, rows)
                    for impl in impls:
                        try:
                            with np.errstate(all="ignore"):
                                runs = RUNNERS[impl](case, rows, a)
                        except Exception as exc:  # noqa: BLE001 - a kernel that raises: its cells say so
                            runs, error = [], f"{type(exc).__name__}: {exc}"
                        else:
                            error = ""
                        for out in case.outputs:
                            key = (case.function, case.option, out, dtype, rows.name, impl)
                            cell = cells.setdefault(key, RowCell(*key))
                            got = [r[out] for r in runs if out in r]
                            if error:
                                cell.failed = error
                            elif not got:
                                cell.failed = "no such output"
                            hi, lo = _double_word(want[out])
                            shape = np.shape(np.asarray(got[0])) if got else ()
                            for g in got:
                                g = np.asarray(g, np.float64).reshape(-1)
                                if g.size != hi.size:
                                    cell.failed = f"{g.size} results for {hi.size} exact values"
                                    continue
                                cell.add(g, hi, lo, shape)
    return list(cells.values())


def _figure_text(v: float) -> str:
    return "NaN/inf" if math.isinf(v) else f"{v:.3g}"


def past_bound(cells, bounds=BOUNDS) -> dict[tuple, str]:
    """{(backend, function, option, output, dtype, rows): "symnet X (torch Y)"} of the symnet cells past the bound."""
    torch_of = {(c.function, c.option, c.output, c.dtype, c.rows): c for c in cells
                if c.implementation == "torch built-in"}
    out = {}
    for c in cells:
        if not c.implementation.startswith("symnet") or c.failed == "no such output":
            continue
        if c.failed or c.mismatches or c.worst_ulp > bounds[c.dtype]:
            t = torch_of.get((c.function, c.option, c.output, c.dtype, c.rows))
            theirs = f", torch {_figure_text(t.figure)}" if t is not None and not t.failed else ""
            out[(c.implementation.split()[1], c.function, c.option, c.output, c.dtype, c.rows)] = \
                f"{c.failed or _figure_text(c.figure)}{theirs}"
    return out


def known_failures_text(cells) -> str:
    """The cells past the bound as the lines of :data:`KNOWN_ROW_FAILURES` (printed by
    ``benchmarks/accuracy.py --rows --reduced --known``; pasted, never edited by hand)."""
    return "\n".join(f"    {k!r}: {v!r}," for k, v in sorted(past_bound(cells).items()))


# The row sets the Triton kernels are measured on in the tests (TRITON_INTERPRET=1 is slow on a CPU).
TRITON_REDUCED_SETS = ("N(0,10)", "±1e4", "near-converged", "width 2")

def reduced_cells(triton: bool = True) -> list[RowCell]:
    """The tests' measurement: the reduced row sets, NumPy and torch on all of them, Triton (where it
    imports) on :data:`TRITON_REDUCED_SETS`."""
    cells = measure_rows(backends=("numpy",), reduced=True)
    if triton:
        cells += measure_rows(backends=("triton",), reduced=True, torch=False, sets=TRITON_REDUCED_SETS)
    return cells


# Cells of the row-wise table past the bound with the reduced sweep (tests/test_accuracy_rows.py, this
# machine): (backend, function, option, output, dtype, rows) → the measured worst ULPs, symnet and torch.
# Filled from the measurement (known_failures_text), never by loosening a bound; the test of a cell listed
# here is xfail(strict): once one is fixed the test fails until it is taken off the list.
KNOWN_ROW_FAILURES: dict[tuple[str, str, str, str, str, str], str] = {
}
