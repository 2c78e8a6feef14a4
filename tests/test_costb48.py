"""Session 48, helper costb48: the cost of ArcFace's widened sums of c and √(1 − c²) times sin m and cos m.

Since h-trig48 the float64 kernel of s·(c·cos m − √(1 − c²)·sin m) took double-word sines and cosines on every element
for f, ∂c and ∂m: the widened function's float64 bound adds libm's 1-ulp sin, cos and the rounded 1 − c², √ and
products past 3u even where the sum does not cancel. Now (symnet/codegen/doubleword.py, ``_root_trig_front_terms``,
``_root_trig_sum_front``; NumPy, float64 kernels) a cheap front computes 1 − c² and its root as double words, each
term exactly or as a double word and the sum compensated (Sum2), with a bound of libm's ulps alone, kept within 3u
(where the sum does not cancel: 74% of c ~ U(−0.99, 0.99), m ~ U(0.05, 1.5)); the others take the double words
(sine and cosine in one call) where the sum is past 2⁻⁴⁰ of its terms, the widened function itself (its triple
words) where it is not. Float32 kernels: unchanged (the widened function).

Measured (mpmath at 60 digits; 400 points each, s = 0.3; HEAD 9abe38b1 → this branch, float64 worst ULP f / ∂c / ∂m / ∂s):
  c ~ U(−0.99, 0.99): 1.04 / 1.36 / 1.06 / 0.50 → 1.32 / 1.36 / 1.08 / 1.02 (within the kernels' 3u contract);
  c = −cos m: ∂c 1.06 → 1.06, ∂m 1.07 → 1.07; c = sin m: f 0.96 → 0.96; c = −cos m·(1 ± 10^[−15, −3]): ≤ 1.07 both;
  float32: bit-identical paths (≤ 0.5). torch autograd at c = −cos m: 5.8e17 ULP (trig48's measurement).
Cost (benchmarks/costb48.py, NumPy, 1e6 elements, best of 5, one process, shared 2-core box; base a023dd5c / HEAD /
this branch, ms): ArcFace ordinary float64 972 / 1467 / 726 (0.75× base, 0.49× HEAD), float32 169 / 195 / 176;
c = −cos m float64 999 / 5220 / 5182 (the triple words, as HEAD); the spelling without s float64 1062 / 1400 / 693.
Not done: ∂c of the parser's spelling √((1 − c)(1 + c)) (its derivative is written as two quotients), WGAN-GP and the
Student-t NLL (no time in this session). Profiled (cProfile on the generated NumPy source, HEAD, 1e6 elements):
(√(gx² + gy²) − 1)² float64 304 ms (base 332; naive 16): its three widened functions have no float64 bound
("keep = np.logical_not(needed)"), so the double words (_dw_sqrt, _dw_div, 14 TwoProducts an element) run on all 95%
of the elements in the rule's window 1/16 < ‖g‖² < 64; (ν + 1)/2·log(1 + (x − μ)²/ν) float64 295 ms (naive 29):
five widened functions, each on every element (_dw_log once, _dw_div twice an element). A front like this one
(each sum compensated, a bound of its roundings alone, the double words where it cancels) would be the fix there.
"""
import warnings

import mpmath
import numpy as np
import pytest

from conftest import compiled, ulps

ARCFACE = "s*(c*cos(m) - sqrt(1 - c**2)*sin(m))"
MP_DPS = 60  # conftest runs this module's tests at 60 digits (test_dps48: no test sets mpmath.mp.dps itself)


def _truths(c, m, s):
    c, m, s = (mpmath.mpf(float(v)) for v in (c, m, s))
    root = mpmath.sqrt(1 - c * c)
    return (s * (c * mpmath.cos(m) - root * mpmath.sin(m)), s * (c * mpmath.sin(m) / root + mpmath.cos(m)),
            -s * (c * mpmath.sin(m) + root * mpmath.cos(m)), c * mpmath.cos(m) - root * mpmath.sin(m))


def _points(kind, n=150):
    rng = np.random.default_rng({"ordinary": 1, "cancelling": 2, "near": 3}[kind])
    m = rng.uniform(0.05, 1.5, n)
    c = {"ordinary": lambda: rng.uniform(-0.99, 0.99, n), "cancelling": lambda: -np.cos(m),
         "near": lambda: -np.cos(m) * (1 + rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-15, -3, n))}[kind]()
    return c, m, np.full(n, 0.3)


@pytest.mark.parametrize("kind", ["ordinary", "cancelling", "near"])
def test_arcface_float64_within_the_bound(kind):
    c, m, s = _points(kind)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = compiled(ARCFACE)(c=c, m=m, s=s)
    truths = [_truths(*p) for p in zip(c, m, s)]
    worst = [max(ulps(got[j][i], truths[i][j], np.float64) for i in range(len(c))) for j in range(4)]
    assert max(worst) <= 2.0, worst  # measured ≤ 1.36


def test_arcface_fronts_in_the_generated_source():
    source = compiled(ARCFACE).source
    assert source.count("doubleword._root_trig_sum_front") == 3  # f (and ∂s), ∂c, ∂m
    assert source.count("_cancelling(c, m, double_word") == 3


def test_the_front_keeps_the_sums_that_do_not_cancel():
    """The front's own value on most ordinary points: the double-word sine and cosine on about a quarter of them,
    the widened function (its triple words) on none."""
    import re
    source = compiled(ARCFACE).source
    namespace: dict = {}
    exec(compile(source, "arcface", "exec"), namespace)
    counts = {}
    for name in [k for k in namespace if k.endswith("_cancelling")] + ["_dw_sin_shifted"]:
        def counted(*args, _inner=namespace[name], _name=name, **kw):
            counts[_name] = counts.get(_name, 0) + np.size(args[0])
            return _inner(*args, **kw)
        namespace[name] = counted
    front = [f for f in re.findall(r"def (_dw_widened_\w+)\(c, m, double_word", source) if not f.endswith("_cancelling")]
    c, m, _ = _points("ordinary", 20000)
    for name in front:
        namespace[name](c, m, True, within=3.3306690738724404e-16)
    assert len(front) == 3 and counts.get("_dw_sin_shifted", 0) <= 0.3 * 6 * c.size, counts  # measured 26%
    assert sum(v for k, v in counts.items() if k.endswith("_cancelling")) <= 0.001 * c.size, counts
