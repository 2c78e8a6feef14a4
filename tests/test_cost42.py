"""Session 42 (cost42, issue 16): slow accurate forms made cheaper, their outputs bit-identical.

- y + log(x)⁶⁴ (and every kernel with a restored log power): the double-word log of the block's x was computed four
  times a block (the widened f's float64 body and its double word, twice in ∂x's 64·log(x)⁶³/x, whose
  _rounded_log_power the printer writes twice: in the value and in ``held``). Now once: _dw_log_remembered gives the
  last call's double word again for the same x bit for bit, and _rounded_log_power its last value for the same s, k
  and x. NumPy 1e6 float64 CPU ms (benchmarks/cost42.py, main beside this branch): 542 → 288 (0.53×).
- Tukey's biweight: f's widened r²·(r⁴ + 3c⁴ − 3c²r²)/(6c⁴) was computed two or three times a block (the value and
  ``held`` of _taken_by_exponents, its factors where a value is not normal); now named where the value computes it, ``(_widened_<digest> := …)``, and that
  name in the others. 1e6 float64 1056 → 617 ms (0.58×), float32 249 → 173 (0.69×).
- NumPy's hottest double-word primitives (TwoSum, Fast2Sum, the splittings, TwoProduct, the bounded product, 2p + p²,
  the quotient) write their intermediate arrays in place: the same operations in the same order (kernels 0.87–0.95×).
  Compared bit for bit with the texts as written (PRIMITIVES') on arrays, arrays beside scalars, and scalars.

The outputs are compared bit for bit with the same kernel computed without the change (the memo never hit, the name
undone) at 204,096 points a formula and dtype (random, log-uniform to 1e±300, near 1, and every pair of 64 extremes:
±0, subnormals, the range's ends, ±inf, NaN); benchmarks/cost42.py's run compared them with main's too
(benchmarks/results/cost42.txt). Accuracy against torch autograd float64 and mpmath is tested where the rules were
added (tests/test_break41.py, tests/test_sum41.py, tests/test_loss41.py); here the counts of the work per block.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from conftest import compiled

F64, F32 = np.float64, np.float32
LOG_POWER = "y + log(x)**64"
LOG_POWER_PRODUCT = "log(x)**8*y"
TUKEY = "where(abs(r) < c, c**2/6*(1 - (1 - (r/c)**2)**3), c**2/6)"
_EXTREMES = np.array([0.0, 5e-324, 1e-310, 2.2250738585072014e-308, 1e-300, 1e-200, 1e-45, 1.17549435e-38, 1e-30, 1e-8,
                      1e-3, 0.5, 1 - 2 ** -53, 1.0, 1 + 2 ** -52, 2.0, 3.0, 10.0, 88.7, 700.0, 710.0, 1e10, 3.4e38, 1e30,
                      1e200, 1e300, 1.7976931348623157e308, np.inf, np.nan, 0.3, 1e-150, 1e150])
_EXTREMES = np.concatenate([_EXTREMES, -_EXTREMES])


def _points(names, dtype, seed=42, n=200_000):
    """n random points (uniform in ±4 and [0, 3], log-uniform in ±10^[−300, 300] (float32: [−40, 38]), near 1), then
    every pair of the 64 extremes on the first two names (a third name cycles them)."""
    rng = np.random.default_rng(seed)
    top = (-300, 300) if dtype == F64 else (-40, 38)
    columns = {}
    for i, v in enumerate(names):
        random = np.concatenate([rng.uniform(-4, 4, n // 4), rng.uniform(0, 3, n // 4),
                                 rng.choice([-1, 1], n // 4) * 10 ** rng.uniform(*top, n // 4),
                                 rng.standard_normal(n // 4) * 1e-3 + 1])
        m = len(_EXTREMES)
        grid = np.tile(_EXTREMES, m) if i == 0 else np.repeat(_EXTREMES, m) if i == 1 else np.resize(_EXTREMES[::-1], m * m)
        columns[v] = np.concatenate([random, grid]).astype(dtype)
    return columns


def _namespace(source):
    """The module of a kernel's source, run again in a namespace of its own."""
    namespace = {}
    exec(compile(source, "<cost42>", "exec"), namespace)  # noqa: S102 - the library's own generated source
    return namespace


def _outputs(kernel, columns):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return [np.asarray(o) for o in kernel(**columns)]


def _assert_bits(got, want, what):
    for k, (a, b) in enumerate(zip(got, want)):
        assert a.dtype == b.dtype and a.shape == b.shape, (what, k)
        ints = np.int64 if a.dtype == F64 else np.int32
        differ = np.flatnonzero(a.view(ints) != b.view(ints))
        assert differ.size == 0, f"{what} output {k}: {differ.size} elements differ, first at {differ[:3]}: " \
                                 f"{a[differ[:3]]} for {b[differ[:3]]}"


def _forgetful(source):
    """The kernel's module with nothing remembered: _dw_same_bits always False (every log computed again)."""
    namespace = _namespace(source)
    namespace["_dw_same_bits"] = lambda a, b: False
    return namespace["kernel"]


def _unnamed(source):
    """The kernel's source with each ``(_widened_<digest> := call)`` put back as the call, and the name as the call
    wherever it stands: the text the printer wrote before h-cost42."""
    while True:
        m = re.search(r"\((_widened_[0-9a-f]{10}) := ", source)
        if m is None:
            return source
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(source[i], 0)
            i += 1
        call = source[m.end():i - 1]
        # every (name := call) of it (the body's and the far block's), then the name wherever it stands
        source = source.replace(f"({m.group(1)} := {call})", call)
        source = re.sub(r"\b%s\b" % m.group(1), lambda _: call, source)


@pytest.mark.parametrize("formula, names", [(LOG_POWER, "xy"), (LOG_POWER_PRODUCT, "xy")])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_remembered_log_gives_the_same_bits(formula, names, dtype):
    kernel = compiled(formula)
    assert "_dw_log_remembered(" in kernel.source
    columns = _points(names, dtype)
    _assert_bits(_outputs(kernel, columns), _outputs(_forgetful(kernel.source), columns), formula)


# (tiny49: Tukey's quotient over the monomial 6c⁴ is widened unscaled now, with no named call; a homogeneous quotient
# scaled by its largest input names its widened call as Tukey's did)
SCALED_QUOTIENT = "(x - y)**2*x/(x**3 + y**3 + x*y**2)"


@pytest.mark.parametrize("dtype", [F64, F32])
def test_named_widened_call_gives_the_same_bits(dtype):
    kernel = compiled(SCALED_QUOTIENT)
    assert ":= (_dw_widened_" in kernel.source
    columns = _points("xy", dtype)
    plain = _namespace(_unnamed(kernel.source))["kernel"]
    _assert_bits(_outputs(kernel, columns), _outputs(plain, columns), SCALED_QUOTIENT)


def _counting(source, names):
    """The kernel's module run again with each of ``names`` counting its calls: (kernel, {name: [count]})."""
    namespace = _namespace(source)
    counts = {}
    for name in names:
        function, counts[name] = namespace[name], [0]

        def counted(*args, _f=function, _c=counts[name], **kw):
            _c[0] += 1
            return _f(*args, **kw)
        namespace[name] = counted
    return namespace["kernel"], counts


# before (main at 79856dea, these tests run there): _dw_log_reduced 12 calls in three blocks of y + log(x)⁶⁴'s float64
# kernel (the widened f's float64 body, its double word, ∂x's value and held), 6 for log(x)⁸·y; the widened Tukey f 6
# (the value and held; the factors too in a block where a value is not normal)
@pytest.mark.parametrize("formula, names, counted, most", [(LOG_POWER, "xy", "_dw_log_reduced", 1),
                                                           (LOG_POWER_PRODUCT, "xy", "_dw_log_reduced", 1)])
def test_log_computed_once_a_block(formula, names, counted, most):
    kernel, counts = _counting(compiled(formula).source, [counted])
    rng = np.random.default_rng(4201)
    columns = {v: rng.uniform(0.5, 4, 3 * 16384) for v in names}  # three blocks
    _outputs(kernel, columns)
    assert counts[counted][0] <= most * 3, counts


def test_tukey_widened_f_computed_once_a_block():
    source = compiled(TUKEY).source
    line = next(t for t in source.splitlines() if t.lstrip().startswith("f[...] = "))
    name = re.search(r"_dw_widened_\w+", line).group(0)
    kernel, counts = _counting(source, [name])
    rng = np.random.default_rng(4202)
    c = rng.uniform(0.5, 5, 3 * 16384)
    _outputs(kernel, {"c": c, "r": c * rng.uniform(-0.9, 0.9, c.size)})
    assert counts[name][0] == 3, counts


def test_remembered_log_is_a_copy():
    """What _dw_log_remembered gives again is what it computed, in arrays of its own: writing into one caller's result
    changes neither the next caller's nor the values kept; another x is computed, not given again."""
    namespace = _namespace(compiled(LOG_POWER).source)
    remembered, log = namespace["_dw_log_remembered"], namespace["_dw_log"]
    x = np.random.default_rng(4203).uniform(0.1, 4, 1000)
    first = remembered(x)
    fresh = [np.copy(w) for w in first]
    for w in first:
        w[...] = np.nan
    again = remembered(x.copy())
    _assert_bits(again, fresh, "again")
    other = remembered(np.nextafter(x, 5))
    _assert_bits(other, log(np.nextafter(x, 5), 0.0), "another x")


# ---------------------------------------------------------------- NumPy's primitives in place
# The texts as written before h-cost42 (PRIMITIVES', _NUMPY_SPLIT's and _NUMPY_TWO_PROD's, unchanged in the module),
# rendered for NumPy as primitive_text renders them, the reference.
_IN_PLACE = ("_dw_two_sum", "_dw_fast_two_sum", "_dw_split_bounded", "_dw_split", "_dw_two_prod_bounded", "_dw_two_prod",
             "_dw_mul_bounded", "_dw_twice_plus_square", "_dw_div")
_ARITY = {"_dw_split_bounded": 1, "_dw_split": 1, "_dw_mul_bounded": 4, "_dw_div": 4}


def _as_written():
    """{name: function} of the texts as written, each calling the others as written."""
    from symnet.codegen import doubleword as dw

    namespace = {"np": np}
    for name in _IN_PLACE + ("_dw_mul_fp",):
        text = {"_dw_split": dw._NUMPY_SPLIT, "_dw_two_prod": dw._NUMPY_TWO_PROD}.get(name, dw.PRIMITIVES[name])
        text = re.sub(r"\b(%s)\b" % "|".join(sorted(dw._CONSTANTS, key=len, reverse=True)),
                      lambda m: repr(float(dw._CONSTANTS[m.group(1)])), text.replace("M.", "np."))
        exec(compile(text, "<as written>", "exec"), namespace)  # noqa: S102 - the library's own texts
    return namespace


def _operands(count, n=250_000, seed=4204):
    """``count`` float64 columns: random sizes 10^[−300, 300] of both signs, lo parts 2⁻⁵³ of them, values in ±1 and
    ±1/2 (inside e^x), and the 64 extremes (±0, subnormals, the range's ends, ±inf, NaN) against each other."""
    rng = np.random.default_rng(seed)
    m = len(_EXTREMES)
    columns, column = [], None
    for i in range(count):
        if i % 2 == 1:  # a lo part: within 2⁻⁵³ of the column before it
            column = column * 2.0 ** -53 * rng.uniform(-1, 1, n)
        else:
            big = rng.choice([-1, 1], n // 2) * 10 ** rng.uniform(-300, 300, n // 2)
            column = np.concatenate([big, rng.uniform(-0.5, 0.5, n - n // 2)])
        grid = np.tile(_EXTREMES, m) if i % 2 == 0 else np.repeat(_EXTREMES, m)
        columns.append(np.concatenate([column, grid]))
    return columns


@pytest.mark.parametrize("name", _IN_PLACE)
def test_primitive_in_place_gives_the_same_bits(name):
    """Each NumPy primitive written in place gives the bits of its text as written: on arrays (250,000 random double
    words and every pair of 64 extremes), on an array beside scalars, and on scalars (the text as written there); the
    arguments are left as they were."""
    namespace = _namespace(compiled("softplus(x/y)**-2").source)
    for needed in ("_dw_two_prod_bounded", "_dw_mul_bounded"):  # (softplus's kernel holds the others)
        if needed not in namespace:
            exec(compile(_numpy_helper(needed), "<cost42>", "exec"), namespace)  # noqa: S102 - the library's text
    assert "out=" in _numpy_helper(name)  # (the text in place)
    function, written, count = namespace[name], _as_written()[name], _ARITY.get(name, 2)
    args = _operands(count)
    if name in ("_dw_mul_bounded", "_dw_twice_plus_square", "_dw_split_bounded", "_dw_two_prod_bounded"):
        args = [c[125_000:250_000] for c in args]  # (|operands| below 1/2: e^x's and log's inside)
    kept = [np.copy(a) for a in args]
    with np.errstate(all="ignore"):
        _assert_bits([np.asarray(w) for w in function(*args)], [np.asarray(w) for w in written(*args)], name)
        _assert_bits(args, kept, name + " (its arguments)")
        mixed = [a if i % 2 == 0 else 0.0 for i, a in enumerate(args)] if count > 1 else [args[0]]
        _assert_bits([np.asarray(w) for w in function(*mixed)], [np.asarray(w) for w in written(*mixed)], name)
        scalars = [float(a[7]) for a in args]
        _assert_bits([np.asarray(w) for w in function(*scalars)], [np.asarray(w) for w in written(*scalars)], name)


def _numpy_helper(name):
    from symnet.codegen.backends.numpy.printer import NUMPY_HELPERS
    return NUMPY_HELPERS[name]
