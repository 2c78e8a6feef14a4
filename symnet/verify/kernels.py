"""``symnet verify``: every generated function against its formula in mpmath.

For each committed kernel (or one emitted afresh) and each output, in float64 and
float32, at random points and at the extreme ones (0, ±1e−30, ±20, ±88.7, ±1000, and
near the float32 limits), the worst error in ULPs and relative terms against the
formula evaluated in mpmath at 50 digits. The reference is the numerically stable form
of the formula (its rules are proved equal to the original symbolically), so 50 digits
are enough even where the written-out form cancels; it is cross-checked against the
written-out form at moderate points. Each gradient is also checked against a central
difference of the formula in mpmath and, where torch is installed, against
``torch.autograd``.
"""
from __future__ import annotations

import importlib.util
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import mpmath
import numpy as np
import sympy as sp

from ..functions import explicit
from ..codegen.blocks import BLOCKS
from ..codegen.ir import Kernel
from ..codegen.backends.numpy.elementwise import emit_module
from ..codegen.rewrite import log1p, softplus, stabilise, unwiden

__all__ = ["Result", "verify_numpy", "format_table", "ULP_BOUND"]

# The stated bound, in units in the last place of max(|result|, size of its terms): a
# difference of nearly equal terms (y − σ(z) with y ≈ σ(z)) cannot be more exact than
# its terms, in any evaluation order.
ULP_BOUND = {"float64": 16, "float32": 16}
EXTREMES = [0.0, 1e-30, -1e-30, 20.0, -20.0, 88.7, -88.7, 1000.0, -1000.0, 3.0e38, -3.0e38, 1.2e-38, -1.2e-38]
DIGITS = 50


@dataclass(frozen=True)
class Result:
    function: str
    check: str  # "mpmath", "finite differences" or "torch.autograd"
    dtype: str
    worst_rel: float
    worst_ulps: float
    worst_at: str
    bound: str
    passed: bool


def _mp(expr: sp.Expr, variables):
    # softplus(v) = log1p(e^v): log(1 + e^v) would cancel in mpmath too for v ≪ 0
    body = explicit(expr.replace(softplus, lambda v: log1p(sp.exp(v))))
    dummies = [sp.Dummy() for _ in variables]
    return sp.lambdify(dummies, body.xreplace(dict(zip(variables, dummies))), modules="mpmath")


def _load_function(kernel: Kernel, path: Path | None):
    if path is not None and path.exists():
        spec = importlib.util.spec_from_file_location(f"symnet_verify_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, kernel.name)
    namespace: dict = {}
    exec(compile(emit_module([kernel], "verify", "-"), f"<{kernel.name}>", "exec"), namespace)  # noqa: S102
    return namespace[kernel.name]


def _points(kernel: Kernel, dtype, n: int, rng) -> list[np.ndarray]:
    """Arguments: data and parameters at random and extreme values, targets in [0, 1]."""
    finfo = np.finfo(dtype)
    extremes = [v for v in EXTREMES if abs(v) <= finfo.max]
    columns = []
    for k, inp in enumerate(kernel.inputs):
        if inp.role == "target":
            col = rng.uniform(0, 1, n + len(extremes))
        else:
            col = np.concatenate([rng.uniform(-30, 30, n // 2), rng.uniform(-3, 3, n - n // 2), extremes])
            if k:  # later arguments: the extremes in another order, so combinations vary
                col = np.roll(col, 3 * k)
        columns.append(col.astype(dtype))
    return columns


def _magnitude(expr: sp.Expr) -> sp.Expr:
    """The formula with every sum's terms made positive: the size of the intermediate
    values, which sets the rounding error any evaluation of a difference must make."""
    return unwiden(expr).replace(lambda e: e.is_Add, lambda e: sp.Add(*[sp.Abs(a) for a in e.args]))


def _ulps(got: float, want: float, scale: float, dtype) -> float:
    """|got − want| in units in the last place of max(|want|, scale) in ``dtype``.
    A result beyond the dtype's range must come out as the infinity of its sign."""
    big = float(np.finfo(dtype).max)
    if abs(want) > big:
        return 0.0 if got == math.copysign(math.inf, want) else math.inf
    if math.isnan(got) or math.isinf(got):
        return math.inf
    size = min(max(abs(want), scale), big)
    with np.errstate(over="ignore"):
        return abs(got - want) / float(np.spacing(dtype(size)))


def verify_numpy(kernels_dir: str | Path | None = None, n: int = 200, seed: int = 0) -> list[Result]:
    rng = np.random.default_rng(seed)
    results: list[Result] = []
    for block in BLOCKS:
        kernel = block.kernel()
        path = Path(kernels_dir) / "numpy" / f"{block.module}.py" if kernels_dir else None
        fn = _load_function(kernel, path)
        variables = [i.symbol for i in kernel.inputs]
        for dtype in (np.float64, np.float32):
            args = _points(kernel, dtype, n, rng)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outs = fn(*args)
            for out, spec in zip(outs, kernel.outputs):
                stable, _ = stabilise(spec.expr)
                ref, naive = _mp(stable, variables), _mp(spec.expr, variables)
                size = _mp(_magnitude(stable), variables)
                worst = (0.0, 0.0, "")
                with mpmath.workdps(DIGITS):
                    for j in range(len(args[0])):
                        point = [mpmath.mpf(float(a[j])) for a in args]
                        want = ref(*point)
                        if all(abs(float(p)) <= 30 for p in point):  # the stable form is the formula
                            assert abs(want - naive(*point)) <= mpmath.mpf(10) ** -30 * max(1, abs(want))
                        w, g = float(want), float(out[j])
                        ulps = _ulps(g, w, float(abs(size(*point))), dtype)
                        rel = abs(g - w) / abs(w) if w else abs(g)
                        if ulps > worst[1] or (ulps == worst[1] and rel > worst[0]):
                            where = ", ".join(f"{i.name}={float(a[j]):.4g}" for i, a in zip(kernel.inputs, args))
                            worst = (rel, ulps, where)
                bound = ULP_BOUND[np.dtype(dtype).name]
                results.append(Result(f"{block.module}.{spec.name}", "mpmath", np.dtype(dtype).name,
                                      worst[0], worst[1], worst[2], f"≤ {bound} ulp*", worst[1] <= bound))
        results += _gradient_checks(block.module, kernel, fn, rng)
    results += _row_checks(kernels_dir, rng)
    results += _layer_checks(kernels_dir, rng)
    return results


def _layer_checks(kernels_dir, rng) -> list[Result]:
    """Each layer backward function against central differences (float64) of the cost
    C = Σ g∘forward(…), and against torch.autograd where torch is installed."""
    from ..codegen.families.dense import layer_modules
    results = []
    for module, kernels in layer_modules().items():
        fns = {k.name: _load_function(k, Path(kernels_dir) / "numpy" / f"{module}.py" if kernels_dir else None)
               for k in kernels}
        for forward in [k for k in kernels if not k.name.endswith("_backward")]:
            backward = next(k for k in kernels if k.name == forward.name + "_backward")
            shapes = {"a": (4, 3), "W": (5, 3), "b": (5,), "x": (4, 2), "hp": (4, 5), "Wi": (5, 2), "Wh": (5, 5)}
            args = {a.name: rng.normal(size=shapes[a.name]) for a in forward.args}
            out = fns[forward.name](*args.values())
            g = rng.normal(size=out.shape)
            extra = {"y": out, "h": out, "g": g}
            bargs = [args[a.name] if a.name in args else extra[a.name] for a in backward.args]
            grads = dict(zip((o.name for o in backward.outputs), fns[backward.name](*bargs)))
            worst, h = (0.0, ""), 1e-6
            for o in backward.outputs:
                wrt = o.name[1:]
                for idx in np.ndindex(args[wrt].shape):
                    up, down = dict(args), dict(args)
                    up[wrt], down[wrt] = args[wrt].copy(), args[wrt].copy()
                    up[wrt][idx] += h
                    down[wrt][idx] -= h
                    want = float(((fns[forward.name](*up.values()) - fns[forward.name](*down.values())) * g).sum()) / (2 * h)
                    err = abs(grads[o.name][idx] - want) / max(1.0, abs(want))
                    if err > worst[0]:
                        worst = (err, f"{o.name}{list(idx)}")
            results.append(Result(f"{module}.{backward.name}", "finite differences", "float64", worst[0],
                                  math.nan, worst[1], "err ≤ 1e-7", worst[0] <= 1e-7))
            torch_result = _layer_torch(module, forward, backward, args, g, grads)
            if torch_result:
                results.append(torch_result)
    return results


def _layer_torch(module, forward, backward, args, g, grads):
    try:
        import torch
    except ImportError:
        return None
    t = {n: torch.tensor(v, requires_grad=True) for n, v in args.items()}
    act = torch.sigmoid if forward.name in ("dense_sigmoid", "rnn_step") else (lambda v: v)
    if module == "rnn_step":
        out = act(t["hp"] @ t["Wh"].T + t["x"] @ t["Wi"].T)
    else:
        out = act(t["a"] @ t["W"].T + t["b"])
    (out * torch.tensor(g)).sum().backward()
    worst = (0.0, "")
    for o in backward.outputs:
        want = t[o.name[1:]].grad.numpy()
        err = float(np.max(np.abs(grads[o.name] - want) / np.maximum(np.abs(want), 1e-300)))
        if err > worst[0]:
            worst = (err, o.name)
    return Result(f"{module}.{backward.name}", "torch.autograd", "float64", worst[0], math.nan, worst[1],
                  "rel ≤ 1e-10", worst[0] <= 1e-10)


def _row_logits(dtype, rng, V: int = 5) -> np.ndarray:
    """Random rows, and rows at the extremes: ±1000, ±88.7, a spread of 2000, all equal."""
    rows = [rng.uniform(-30, 30, V), rng.uniform(-3, 3, V), rng.uniform(-3, 3, V),
            [1000.0, -1000.0, 0.0, 20.0, -20.0], [88.7, 88.7, -88.7, 0.0, 1e-30],
            [-1000.0, -999.0, -1000.0, -1001.0, -1000.0], [7.0] * V]
    return np.array(rows, dtype=dtype)


def _row_exact(expr: sp.Expr, z_row, g_row, r_value: int, column: int) -> mpmath.mpf:
    """The formula of one row evaluated at 50 digits (V = len(z_row))."""
    from ..codegen.families.rowwise import V, g, j, r, z
    size = len(z_row)
    def number(v):  # a float, or an mpf carrying a finite-difference step: every digit kept
        return sp.Float(mpmath.nstr(mpmath.mpf(v), DIGITS + 10) if isinstance(v, mpmath.mpf) else float(v), DIGITS)

    entries = {z[q]: number(z_row[q]) for q in range(size)}
    entries.update({g[q]: number(g_row[q]) for q in range(size)})
    value = expr.subs({V: size, j: column, r: r_value}).doit().xreplace(entries).evalf(DIGITS)
    return mpmath.mpf(str(value))


def _row_checks(kernels_dir, rng) -> list[Result]:
    """Each fused row-wise function (value and gradient) against its formula at 50
    digits, per entry; the gradient against central differences of the value formula
    and against torch.autograd."""
    from ..codegen.families.rowwise import row_modules
    results = []
    for module, kernels in row_modules().items():
        kernel = kernels[-1]  # the fused forward + backward function
        path = Path(kernels_dir) / "numpy" / f"{module}.py" if kernels_dir else None
        fn = _load_function(kernel, path)
        for dtype in (np.float64, np.float32):
            zs = _row_logits(dtype, rng)
            rs = rng.integers(0, zs.shape[1], zs.shape[0])
            gs = rng.normal(0, 1, zs.shape).astype(dtype)
            args = [zs] + ([rs] if kernel.target else []) + ([gs] if kernel.upstream else [])
            kwargs = {"reduction": "none"} if any(o.per_row for o in kernel.outputs) else {}
            outs = fn(*args, **kwargs)
            for out, spec in zip(outs, kernel.outputs):
                worst = worst_row_error(kernel, spec, zs, gs, rs, out, lambda got, want, scale: _ulps(got, want, scale, dtype))
                bound = ULP_BOUND[np.dtype(dtype).name]
                results.append(Result(f"{module}.{spec.name}", "mpmath", np.dtype(dtype).name, worst[0],
                                      worst[1], worst[2], f"≤ {bound} ulp†", worst[1] <= bound))
        results += _row_gradient_checks(module, kernel, fn, rng)
    return results


def worst_row_error(kernel, spec, zs, gs, rs, out, ulps_of) -> tuple[float, float, str]:
    """(relative error, ulps, where) of the worst entry of a row-wise output ``out`` against
    the row formula at 50 digits; ulps of max(|exact|, 1, max |g| of the row where the
    kernel takes g, max |z| of the row for formulas with a log)."""
    worst = (0.0, 0.0, "")
    for row in range(zs.shape[0]):
        for col in ([0] if spec.per_row else range(zs.shape[1])):
            want = float(_row_exact(spec.expr, zs[row], gs[row], int(rs[row]), col))
            got = float(out[row] if spec.per_row else out[row, col])
            scale = max(1.0, float(np.abs(gs[row]).max()) if kernel.upstream else 1.0,
                        float(np.abs(zs[row]).max()) if spec.expr.has(sp.log) else 1.0)
            ulps = ulps_of(got, want, scale)
            if ulps > worst[1]:
                worst = (abs(got - want) / abs(want) if want else abs(got), ulps, f"row {row}, entry {col}")
    return worst


def _row_gradient_checks(module, kernel, fn, rng) -> list[Result]:
    value, grad = kernel.outputs
    zs = rng.uniform(-4, 4, (3, 4))
    rs = rng.integers(0, 4, 3)
    gs = rng.normal(0, 1, (3, 4))
    args = [zs] + ([rs] if kernel.target else []) + ([gs] if kernel.upstream else [])
    kwargs = {"reduction": "none"} if value.per_row else {}
    got = fn(*args, **kwargs)[1]
    h = mpmath.mpf(10) ** -20
    worst = (0.0, "")
    with mpmath.workdps(DIGITS):
        for row in range(3):
            for q in range(4):
                total = mpmath.mpf(0)  # ∂/∂z_q of Σ_j g_j·value_j (or of the row's loss)
                for sign in (1, -1):
                    zrow = [mpmath.mpf(float(v)) for v in zs[row]]
                    zrow[q] += sign * h
                    cols = [0] if value.per_row else range(4)
                    weights = [1] if value.per_row else [mpmath.mpf(float(v)) for v in gs[row]]
                    total += sign * sum(w * _row_exact(value.expr, zrow, gs[row], int(rs[row]), c)
                                        for w, c in zip(weights, cols))
                want = float(total / (2 * h))
                rel = abs(got[row, q] - want) / max(abs(want), 1e-300)
                if rel > worst[0]:
                    worst = (rel, f"row {row}, entry {q}")
    results = [Result(f"{module}.{grad.name}", "finite differences", "float64", worst[0], math.nan,
                      worst[1], "rel ≤ 1e-12", worst[0] <= 1e-12)]
    try:
        import torch
    except ImportError:
        return results
    tz = torch.tensor(zs, requires_grad=True)
    forward = {"softmax": lambda t: torch.softmax(t, -1), "log_softmax": lambda t: torch.log_softmax(t, -1),
               "softmax_cross_entropy": lambda t: torch.nn.functional.cross_entropy(
                   t, torch.tensor(rs), reduction="none")}[module]
    out = forward(tz)
    (out * torch.tensor(gs)).sum().backward() if kernel.upstream else out.sum().backward()
    rel = np.abs(got - tz.grad.numpy()) / np.maximum(np.abs(tz.grad.numpy()), 1e-300)
    k = np.unravel_index(int(np.argmax(rel)), rel.shape)
    results.append(Result(f"{module}.{grad.name}", "torch.autograd", "float64", float(rel[k]), math.nan,
                          f"row {k[0]}, entry {k[1]}", "rel ≤ 1e-12", float(rel[k]) <= 1e-12))
    return results


def _gradient_checks(module: str, kernel: Kernel, fn, rng) -> list[Result]:
    """Gradients at moderate float64 points against central differences (and torch)."""
    values = [o for o in kernel.outputs if not o.meaning.startswith("∂")]
    grads = [o for o in kernel.outputs if o.meaning.startswith("∂")]
    if not values or not grads:
        return []
    variables = [i.symbol for i in kernel.inputs]
    f = _mp(values[0].expr, variables)
    args = [rng.uniform(0, 1, 40) if i.role == "target" else rng.uniform(-4, 4, 40) for i in kernel.inputs]
    outs = dict(zip((o.name for o in kernel.outputs), fn(*args)))
    results = []
    for g in grads:
        wrt = next(k for k, i in enumerate(kernel.inputs) if g.meaning.endswith(f"∂{i.symbol}") or
                   g.name.endswith(f"_d{i.name}"))
        worst = (0.0, "")
        with mpmath.workdps(DIGITS):
            h = mpmath.mpf(10) ** -20
            for j in range(40):
                point = [mpmath.mpf(float(a[j])) for a in args]
                up, down = list(point), list(point)
                up[wrt] += h
                down[wrt] -= h
                want = float((f(*up) - f(*down)) / (2 * h))
                rel = abs(outs[g.name][j] - want) / max(abs(want), 1e-300)
                if rel > worst[0]:
                    worst = (rel, ", ".join(f"{i.name}={a[j]:.4g}" for i, a in zip(kernel.inputs, args)))
        results.append(Result(f"{module}.{g.name}", "finite differences", "float64", worst[0], math.nan,
                              worst[1], "rel ≤ 1e-12", worst[0] <= 1e-12))
        torch_result = _torch_check(module, kernel, values[0], g, wrt, args, outs[g.name])
        if torch_result:
            results.append(torch_result)
    return results


def _torch_check(module, kernel, value, grad, wrt, args, got):
    try:
        import torch
    except ImportError:
        return None
    variables = [i.symbol for i in kernel.inputs]
    body = explicit(value.expr.replace(softplus, lambda v: sp.log(1 + sp.exp(v))))
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=(k == wrt)) for k, a in enumerate(args)]
    torch_fn = sp.lambdify(variables, body, modules=[{"exp": torch.exp, "log": torch.log,
                                                       "sin": torch.sin, "cos": torch.cos}, "math"])
    try:
        out = torch_fn(*tensors)
        out.sum().backward()
    except Exception:  # a formula torch cannot trace through lambdify: no torch row
        return None
    want = tensors[wrt].grad.numpy()
    rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
    k = int(np.argmax(rel))
    return Result(f"{module}.{grad.name}", "torch.autograd", "float64", float(rel[k]), math.nan,
                  ", ".join(f"{i.name}={a[k]:.4g}" for i, a in zip(kernel.inputs, args)), "rel ≤ 1e-12",
                  float(rel[k]) <= 1e-12)


def format_table(results: list[Result]) -> str:
    head = ("function", "check", "dtype", "worst rel err", "worst ulps", "bound", "result", "worst at")
    rows = [head] + [(r.function, r.check, r.dtype, f"{r.worst_rel:.2e}",
                      "—" if math.isnan(r.worst_ulps) else f"{r.worst_ulps:.1f}", r.bound,
                      "pass" if r.passed else "FAIL", r.worst_at) for r in results]
    widths = [max(len(row[c]) for row in rows) for c in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    failed = sum(not r.passed for r in results)
    lines.append("\n* ulps of max(|exact result|, size of its terms); the exact result is the formula in "
                 f"mpmath at {DIGITS} digits")
    lines.append("† row-wise: ulps of max(|exact result|, 1, max |g| of the row, and max |z| of the row for "
                 "formulas with a log)")
    lines.append(f"\n{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)
