"""The cost of double-word sums in NumPy float64 kernels (issue 16, symnet/codegen/doubleword.py).

A generated double-word function computes the float64 body node by node with a running bound of its
rounding error (doubleword._Bound), keeps the float64 value where the bound is within 3u of it, and
runs the double-word statements only on the other elements (and only where the kernel's select takes
the sum: ``needed``). Checked here against mpmath (60 digits), never against the expression the code
came from:

* the bound itself: at every finite element, |float64 value − exact| ≤ the bound, on sweeps that
  cross the mask's boundary (the cancellation ratio Σ|t|/|s| from 1 to 2²⁰), with points kept just
  below it; every kept element within 3u of the exact value (3 ULP);
* kernels on arrays where every, no and some elements cancel: within 4 ULP; at the crossings the
  same bits as double-word everywhere;
* non-contiguous, broadcast, 0-d and empty arrays; ±inf and NaN; the float32 branch unchanged;
  ``needed`` false: no double-word.

With every element kept (the mask's bound raised to |v|) 15 of these tests fail (the kernels on
cancelling data, the kept values, the crossings' bits); with the bound leaving out exp's and log's own
error (libm's ulp) 4 fail (the bound at kl_div ∂t and poisson_nll f, kl_div's kernels).
"""
from __future__ import annotations

import re
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.codegen.rewrite import unwiden, widen
from symnet.functions import sigmoid
from symnet.registry import NUMPY_HELPERS, lookup, numpy_helper_closure
from symnet.special import softplus

x, t, v, z = sp.symbols("x t v z", real=True)
U = 2.0 ** -53
F64 = np.float64

BODIES = {  # name: the widened body (the losses' own: the kernels print these)
    "kl_dt": 1 - x + sp.log(t),
    "poisson_f": sp.exp(x) - t * x,
    "sigmoid_minus_t": sigmoid(x) - t,
    "gaussian_dv": 1 / (2 * v) - (x - t) ** 2 / (2 * v ** 2),
    "softplus_tanh": softplus(x) - t + sp.tanh(x) / 3,
}


def _namespace(helpers) -> dict:
    from symnet.codegen.backends.numpy.printer import PRINTER_HELPERS
    every = {**PRINTER_HELPERS, **NUMPY_HELPERS}
    namespace = {"np": np}
    names = numpy_helper_closure(helpers)
    for h in every:
        if h in names and not h.startswith("_dw_widened_"):
            exec(every[h], namespace)  # noqa: S102 - the library's own helper texts
    return namespace


_FUNCTIONS: dict = {}


def _generated(body):
    """(the generated function of widen(body), its leaves, a probe returning (keep, value, bound))."""
    if body in _FUNCTIONS:
        return _FUNCTIONS[body]
    from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter
    node = widen(body)
    helpers: set = set()
    name = NumpyExpressionPrinter(helpers)._widened_function(node)
    code = NUMPY_HELPERS[name]
    namespace = _namespace(helpers)
    exec(code, namespace)  # noqa: S102 - a generated function
    keep = re.search(r"keep = \((\w+) <= (?:[0-9.e-]+|within)\*(\w+)\)", code)  # within: 3u, a float32 kernel 2⁻³⁰
    # (the kept value, since session 21 through _dwx_tier: the scaled double words where it is below 2⁻⁹⁶⁸)
    value = re.search(r"if keep.all\(\):\n +return (?:_dwx_tier\()?(\w+)[,\n]", code).group(1)
    probe_code = code.replace("        if keep.all():", f"        return keep, {value}, {keep.group(1)}\n"
                              "        if keep.all():").replace(f"def {name}(", "def probe(")
    exec(probe_code, namespace)  # noqa: S102 - the same function, returning its mask and bound (test only)
    _FUNCTIONS[body] = (namespace[name], type(node).leaves, namespace["probe"])
    return _FUNCTIONS[body]


def _exact(body, leaves):
    plain = unwiden(body).replace(sigmoid, lambda a: 1 / (1 + sp.exp(-a))).replace(
        softplus, lambda a: sp.log(1 + sp.exp(a)))
    f = sp.lambdify(leaves, plain, "mpmath")

    def at(row):
        with mpmath.workdps(60):
            return f(*[mpmath.mpf(float(a)) for a in row])
    return at


def _ratio_offset(rng, n):
    """1 ± 2^−k, k from −2 to 20: from terms that add (1 − 4: opposite signs) to a result 2⁻²⁰ of
    the cancelling terms, across the mask's boundary."""
    return 1 + rng.choice([-1, 1], n) * 2.0 ** -rng.uniform(-2, 20, n)


def _sweep(name, rng, n):
    if name == "kl_dt":
        ts = 10.0 ** rng.uniform(-8, 8, n)
        return {t: ts, x: (np.log(ts) + 1) * _ratio_offset(rng, n)}
    if name == "poisson_f":
        xs = rng.uniform(-30, 300, n)
        return {x: xs, t: np.exp(xs) / xs * _ratio_offset(rng, n)}
    if name in ("sigmoid_minus_t", "softplus_tanh"):
        zs = rng.uniform(-30, 30, n)
        target = 1 / (1 + np.exp(-zs)) if name == "sigmoid_minus_t" else np.logaddexp(0, zs) + np.tanh(zs) / 3
        return {x: zs, t: target * _ratio_offset(rng, n)}
    d, xs = 10.0 ** rng.uniform(-3, 3, n), rng.uniform(-3, 3, n)  # v ≈ d², and v ≫ d² (kept)
    return {x: xs, t: xs - d, v: d ** 2 * np.where(rng.random(n) < 0.5, _ratio_offset(rng, n), 10 ** rng.uniform(0, 4, n))}


def _call(fn, leaves, columns, *extra):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*[columns[s] for s in leaves], *extra)


@pytest.mark.parametrize("name", list(BODIES))
def test_the_bound_holds_and_kept_values_are_within_3u(name):
    """At every finite element the float64 value is within its bound of the exact one; the kept
    ones (some of them just below the boundary) within 3u; some elements are not kept."""
    body = BODIES[name]
    fn, leaves, probe = _generated(body)
    columns = _sweep(name, np.random.default_rng(8), 300)
    keep, value, bound = (np.broadcast_to(a, columns[leaves[0]].shape) for a in _call(probe, leaves, columns, True))
    exact = _exact(body, leaves)
    failures, near, worst = [], 0, 0.0
    for r in range(len(value)):
        true = exact([columns[s][r] for s in leaves])
        if not (np.isfinite(value[r]) and np.isfinite(bound[r])) or not mpmath.isfinite(true):
            continue
        err = float(abs(mpmath.mpf(float(value[r])) - true))
        if err > bound[r]:
            failures.append(f"bound {bound[r]:.3g} < error {err:.3g} at {[columns[s][r] for s in leaves]}")
        if keep[r] and true != 0:
            worst = max(worst, err / float(abs(true)) / U)
            near += bound[r] > 0.75 * 3 * U * abs(value[r])
    assert not failures, f"{name}: {len(failures)} points: " + "; ".join(failures[:3])
    assert worst <= 3.0, f"{name}: a kept value {worst:.3g}u from the exact one"
    assert near > 0, f"{name}: no kept point near the boundary"
    assert 0 < keep.sum() < len(keep), f"{name}: kept {keep.sum()} of {len(keep)}"


CASES = {
    "kl_div": (lookup("kl_div")(x, t), (x, t)),
    "poisson_nll": (lookup("poisson_nll")(x, t), (x, t)),
    "bce_logits": (lookup("bce_logits")(z, t), (z, t)),
}
_KERNELS: dict = {}


def _kernel(case):
    if case not in _KERNELS:
        formula, variables = CASES[case]
        _KERNELS[case] = symnet.compile(symnet.derive(formula, list(variables)), backend="numpy")
    return _KERNELS[case]


def _data(case, mode, rng, n):
    """Inputs where every (``all``), no (``none``) or some (``some``) element cancels."""
    off = 1 + rng.choice([-1, 1], n) * 2.0 ** -rng.uniform(8, 40, n)
    if case == "kl_div":
        ts = 10.0 ** rng.uniform(-6, 0, n)
        cancel, apart = (np.log(ts) + 1) * off, np.log(ts) + 1 - rng.uniform(2, 5, n)  # ∂t far from 0, < 0
        return {t: ts, x: {"all": cancel, "none": apart, "some": np.where(rng.random(n) < 0.3, cancel, apart)}[mode]}
    if case == "poisson_nll":
        xs = rng.uniform(1, 30, n)
        cancel, apart = np.exp(xs) / xs * off, rng.uniform(0, 0.1, n)
        return {x: xs, t: {"all": cancel, "none": apart, "some": np.where(rng.random(n) < 0.3, cancel, apart)}[mode]}
    zs = rng.uniform(-6, 6, n)
    sig = 1 / (1 + np.exp(-zs))
    cancel, apart = sig * off, np.where(zs > 0, 0.0, 1.0)
    return {z: zs, t: {"all": cancel, "none": apart, "some": np.where(rng.random(n) < 0.3, cancel, apart)}[mode]}


def _outputs(kernel, columns, function=None):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        outs = (function or kernel)(**{str(s): c for s, c in columns.items()})
    return {o.name: np.asarray(r) for o, r in zip(kernel.kernel.outputs, outs)}


def _everywhere(kernel):
    """The same module with the bound's mask off: double-word on every element (main before this)."""
    source = re.sub(r"keep \|= np.logical_not\(needed\)", "keep = np.zeros(np.shape(keep), bool)", kernel.source)
    assert source != kernel.source
    namespace: dict = {}
    exec(compile(source, "<everywhere>", "exec"), namespace)  # noqa: S102 - a generated module, edited here
    return namespace[kernel.kernel.name]


@pytest.mark.parametrize("mode", ["all", "none", "some"])
@pytest.mark.parametrize("case", list(CASES))
def test_kernel_within_4_ulps_where_all_none_or_some_cancel(case, mode):
    kernel = _kernel(case)
    columns = _data(case, mode, np.random.default_rng(3), 60)
    got = _outputs(kernel, columns)
    failures = []
    for o in kernel.kernel.outputs:
        exact = _exact(o.expr, list(columns))
        for r in range(60):
            true = exact([columns[s][r] for s in columns])
            if not mpmath.isfinite(true) or abs(true) < 2.2250738585072014e-308:
                continue
            ulps = float(abs(mpmath.mpf(float(got[o.name][r])) - true)) / float(np.spacing(abs(float(true))))
            if ulps > 4:
                failures.append(f"{o.name}: {ulps:.3g} ULP at {[float(columns[s][r]) for s in columns]}")
    assert not failures, f"{case} ({mode}): " + "; ".join(failures[:3])


@pytest.mark.parametrize("case", list(CASES))
def test_at_the_crossings_the_bits_of_double_word_everywhere(case):
    """Where every element cancels, the elements are all double-word: the same bits as the module
    with the mask off."""
    kernel = _kernel(case)
    columns = _data(case, "all", np.random.default_rng(5), 2000)
    got, want = _outputs(kernel, columns), _outputs(kernel, columns, _everywhere(kernel))
    names = {"kl_div": "df_dt", "poisson_nll": "f", "bce_logits": "df_dz"}
    np.testing.assert_array_equal(got[names[case]], want[names[case]])


def test_shapes_strides_and_empty_arrays():
    """Non-contiguous, broadcast (3×1 with 1×4), 0-d and empty inputs: what the elements give one by one."""
    body = BODIES["kl_dt"]
    fn, leaves, _ = _generated(body)
    rng = np.random.default_rng(4)
    ts = 10.0 ** rng.uniform(-3, 3, 40)
    xs = np.log(ts) + 1 + np.where(rng.random(40) < 0.5, 1e-9, 2.0)  # about half cancel
    one = {t: ts, x: xs}
    flat = _call(fn, leaves, one, True)
    strided = _call(fn, leaves, {t: np.repeat(ts, 2)[::2], x: np.stack([xs, xs], 1)[:, 0]}, True)
    np.testing.assert_array_equal(strided, flat)
    grid = _call(fn, leaves, {t: ts[:3, None], x: xs[None, :4]}, True)
    assert grid.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert grid[i, j] == _call(fn, leaves, {t: ts[i:i + 1], x: xs[j:j + 1]}, True)[0]
    for r in (0, 1):  # 0-d: one kept (x far), one double-word (x on the crossing)
        point = _call(fn, leaves, {t: np.array(ts[r]), x: np.array(xs[r])}, True)
        assert np.ndim(point) == 0 and float(point) == flat[r]
    assert _call(fn, leaves, {t: np.zeros(0), x: np.zeros(0)}, True).shape == (0,)
    # the kernel on a strided view: the same as on a copy
    kernel = _kernel("kl_div")
    view = {t: np.repeat(ts, 3)[::3], x: np.repeat(xs, 3)[::3]}
    for name, a in _outputs(kernel, view).items():
        np.testing.assert_array_equal(a, _outputs(kernel, {t: ts.copy(), x: xs.copy()})[name])


def test_infinities_and_nan_among_cancelling_elements():
    """±inf and NaN beside cancelling elements: the float64 body's value at those (as before the
    mask), the double-word at the others."""
    body = BODIES["poisson_f"]
    fn, leaves, _ = _generated(body)
    specials = np.array([np.inf, -np.inf, np.nan, 710.0, -745.0, 1e308])
    xs = np.concatenate([specials, specials, [3.0, 5.0]])
    ts = np.concatenate([np.full(6, 2.0), [np.nan, np.inf, 1.0, -np.inf, 0.5, 1e-300], [np.exp(3.0) / 3 * (1 + 2.0 ** -20), np.exp(5.0) / 5 * (1 - 2.0 ** -30)]])
    got = _call(fn, leaves, {x: xs, t: ts}, True)
    with np.errstate(all="ignore"):
        plain = np.exp(xs) - ts * xs
    special = ~np.isfinite(plain)
    assert np.array_equal(np.isnan(got[special]), np.isnan(plain[special]))
    assert np.array_equal(got[np.isinf(plain)], plain[np.isinf(plain)])
    exact = _exact(body, leaves)
    for r in (12, 13):  # by the crossing: the double-word, within 0.5 ULP of its result (2⁻²⁰, 2⁻³⁰ of its terms)
        true = exact([{x: xs[r], t: ts[r]}[s] for s in leaves])
        assert float(abs(mpmath.mpf(float(got[r])) - true)) <= 0.5 * float(np.spacing(abs(float(true))))


def test_not_needed_elements_take_no_double_word_and_float32_is_unchanged():
    """needed false: the float64 value (no double-word even where the sum cancels); double_word
    false (a float32 kernel): the float64 body as printed."""
    body = BODIES["kl_dt"]
    fn, leaves, _ = _generated(body)
    ts = np.array([0.5, 2.0, 7.0])
    xs = np.log(ts) + 1  # every element cancels
    with np.errstate(all="ignore"):
        plain = 1 + np.log(ts) - xs
    double = _call(fn, leaves, {t: ts, x: xs}, True)  # the rounding error of fl(log t + 1): below 2⁻⁵²
    unneeded = _call(fn, leaves, {t: ts, x: xs}, True, np.zeros(3, bool))
    assert np.all(np.abs(unneeded - plain) <= 4 * U * (np.abs(np.log(ts)) + 1 + np.abs(xs)))  # a float64 sum
    assert np.all(unneeded != double) and np.all(np.abs(double) < 2.2e-16)
    # the float64 body as printed: since session 38 (h-reassoc38) a sum that can cancel is summed compensated, so the
    # body's 1 + log t − x is the exact sum of its three float64 terms rounded once (before: plain, 0 for −1.1e−16)
    terms = zip(np.log(ts), xs)
    exact = [float(mpmath.fsum([1, float(lt), -float(v)])) for lt, v in terms]
    np.testing.assert_array_equal(_call(fn, leaves, {t: ts, x: xs}, False), exact)
    partly = _call(fn, leaves, {t: ts, x: xs}, True, np.array([True, False, True]))
    np.testing.assert_array_equal(partly, [double[0], unneeded[1], double[2]])


def test_the_kernel_tells_each_piece_where_it_is_selected():
    """A select's pieces pass their condition to their widened sums (poisson_nll f: five pieces, exp-minus-limit's
    first and third, at x = −inf, t = 0 and x > 3.4e38)."""
    source = _kernel("poisson_nll").source
    within = ", within=(3.3306690738724404e-16 if _dtype == np.float64 else 2.0**-30))"  # a float32 kernel: 2⁻³⁰
    assert "True, abs_x_lt_log_two" + within in source
    assert ("True, ~(((x < -3.4028234663852886e+38)) & ((t == 0))) & ~(abs_x_lt_log_two) & "
            "~((x > 3.4028234663852886e+38)) & ~(((x > 64)) | (((x < -64)) & ((np.abs(t*x) > 1.7014118346046923e+38))))"
            + within) in source  # (the far piece below −64 only where |t·x| is past 2¹²⁷: session 39)
    assert "def _dw_widened_" in source and "needed=True" in source
