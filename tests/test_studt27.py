"""Task h-studt27: NumPy's widened functions on the elements their select takes only (doubleword._needed_gather), and
the Student-t ∂ν past the log1p-series window widened (double words, rounded once): 93 ULP in float64 at ν = 5,
x = 1.5 before (torch 419), 0.02 now."""
import inspect
import math
import re

import mpmath
import numpy as np
import pytest

import symnet

STUDENT = "0.5*(nu + 1)*log(1 + x**2/nu)"
WINDOW = 0.4375  # the log1p-series window in a = x²/ν (the generated select's |a| < 0.4375)
GATHER = "elif np.ndim(needed) and np.count_nonzero(needed) * 2 < np.size(needed):"
# a float64 kernel's branch of a function whose bound is never within 3u gathers wherever the select leaves some
# elements out (geglu44, doubleword._float64_gather): switched off with the other
GATHER64 = "if np.ndim(needed) and not needed.all():"


def _truth(nu, x):
    """∂/∂ν of ½(ν + 1)·log(1 + x²/ν) at 50 digits: ½·log1p(a) − (ν + 1)·a/(2ν(1 + a)), a = x²/ν (by hand)."""
    with mpmath.workdps(50):
        n, v = mpmath.mpf(float(nu)), mpmath.mpf(float(x))
        a = v * v / n
        return mpmath.log1p(a) / 2 - (n + 1) * a / (2 * n * (1 + a))


def _ulps(got, true, dtype):
    if abs(true) < np.finfo(dtype).tiny:
        return 0.0 if abs(got) <= np.finfo(dtype).tiny else math.inf
    return float(abs(mpmath.mpf(float(got)) - true) / mpmath.mpf(float(np.spacing(dtype(abs(float(true)))))))


@pytest.fixture(scope="module")
def student():
    return symnet.compile(symnet.derive(STUDENT, wrt="nu"), progress=False)


def _past_the_window():
    """Points with a = x²/ν past the window: the xfail's, where the sum cancels most (ν ≤ 4.6: ∂ν's zero lies past
    it), far ones, and 40 random ones of ν in (1, 30), x ~ 2·N(0, 1)."""
    points = [(5.0, 1.5), (2.0, 1.0), (4.0, 1.4), (3.0, 1.2), (1.5, 1.0), (2.5, 1.1), (1.0, 0.7), (1.0, 3.0),
              (10.0, 2.2), (30.0, 3.7), (1e3, 30.0), (1e6, 1e3)]
    rng = np.random.default_rng(27)
    nus, xs = rng.uniform(1, 30, 400), rng.standard_normal(400) * 2
    points += [(float(n), float(v)) for n, v in zip(nus, xs) if v * v / n >= WINDOW][:40]
    assert all(v * v / n >= WINDOW for n, v in points)
    return points


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_student_t_dnu_past_the_window_against_mpmath_and_torch(student, dtype):
    """Before (main, the sum as written past the window): 93 ULP in float64 at ν = 5, x = 1.5 (torch 419), 38 of 400
    random points of ν in (1, 30), x ~ 2·N(0, 1) past 4 ULP, the worst 121. Now ≤ 0.5 ULP at every point here, both
    dtypes (float32 was within already: its body is float64), and never worse than torch."""
    torch = pytest.importorskip("torch")
    points = _past_the_window()
    nus = np.array([p[0] for p in points], dtype)
    xs = np.array([p[1] for p in points], dtype)
    _, grad = student(nu=nus, x=xs)
    tn = torch.tensor(nus, requires_grad=True)
    (tg,) = torch.autograd.grad((0.5 * (tn + 1) * torch.log(1 + torch.tensor(xs) ** 2 / tn)).sum(), [tn])
    truth = [_truth(n, v) for n, v in zip(nus, xs)]
    ours = [_ulps(g, t, dtype) for g, t in zip(grad, truth)]
    theirs = [_ulps(g, t, dtype) for g, t in zip(tg.numpy(), truth)]
    worst = int(np.argmax(ours))
    assert ours[worst] <= (4 if dtype is np.float64 else 8), (points[worst], ours[worst])
    assert all(o <= max(t, 4) for o, t in zip(ours, theirs)), [(p, o, t) for p, o, t in zip(points, ours, theirs) if o > t]


def test_the_xfail_point_at_its_bits(student):
    """ν = 5, x = 1.5: −4.2512…e−4 from terms ½·log1p(0.45) = 0.186 (440× the result); 93 ULP before, 0.02 now."""
    _, grad = student(nu=np.array([5.0]), x=np.array([1.5]))
    assert _ulps(grad[0], _truth(5.0, 1.5), np.float64) <= 0.5


def test_student_t_dnu_at_its_zero_inside_the_window(student):
    """Inside the log1p-series window ∂ν has its zero at a = x²/ν ≈ 2/ν (ν > 4.6), where the series G(a) and
    R = −a/(2ν(1 + a)) cancel in float64: 716.7 ULP at this point before (h-studt27's strict xfail; torch 1.6e5);
    widened where |G + R| < |R|/2 since h-gate28 (tests/test_gate28.py): 0.33."""
    nu, x = 28.946455312504156, 1.4298708091377665
    assert x * x / nu < WINDOW
    _, grad = student(nu=np.array([nu]), x=np.array([x]))
    assert _ulps(grad[0], _truth(nu, x), np.float64) <= 4


# ------------------------------------------------------------------ the gather changes no bit of any kernel's output

def _module(text: str, ran: list):
    """The generated module ``text`` executed, ``ran`` counting the gathered calls."""
    space: dict = {"_RAN": ran}
    text = text.replace("result[needed] = ", "_RAN.append(np.count_nonzero(needed)); result[needed] = ")
    exec(compile(text, "<generated>", "exec"), space)  # noqa: S102 - a module symnet generated
    return space


def _data(names, n, rng, dtype):
    """Inputs of a kernel by name: predictions 3·N(0, 1) with edge values in front, targets uniform in (0, 1)."""
    # (2000, 3000, 5000: focal computes its far branches, |z| > 1000, on those elements alone, where z > 1000 is then
    # taken on 5 of 7 and z < −1000 on 2: gathered there)
    edges = [0.0, -0.0, 1e-300, -1e-300, 5e-324, 1e300, -1e300, np.inf, -np.inf, np.nan, 40.0, -40.0, 0.45, 1e-8,
             2000.0, 3000.0, 5000.0]
    out = {}
    for name in names:
        if name == "nu":
            v = rng.uniform(1, 30, n)
            v[:4] = [5.0, 1e-300, 1e300, 1.0]
        elif name == "t":
            v = rng.uniform(0, 1, n)
        else:
            v = rng.standard_normal(n) * (1 if "nu" in names else 3)
            v[:len(edges)] = edges
        with np.errstate(over="ignore"):
            out[name] = v.astype(dtype)
    return out


@pytest.mark.parametrize("formula", [STUDENT, "poisson_nll(x, t)", "focal(z, t)", "bce_logits(z, t)"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_the_gather_changes_no_bit(formula, dtype):
    """Each kernel as generated beside its source with the gather switched off (every widened function on every
    element of the block, as before this task): the same bits in every output, over three blocks and a part (edge
    values in front), and the gather ran. (Measured once against main's generated kernels too: poisson_nll, focal,
    bce_logits, squared_hinge, gaussian_nll the same bits on 2·10⁵ points, both dtypes; the Student-t ∂ν differs in
    float64 where the rule now widens it, 5.4% of the points.)"""
    d = symnet.derive(formula, wrt="nu") if formula == STUDENT else symnet.derive(formula)
    text = symnet.compile(d, progress=False).source
    assert text.count(GATHER) >= 1
    ran, off = [], []
    new = _module(text, ran)["kernel"]
    old = _module(text.replace(GATHER, "elif False:").replace(GATHER64, "if False:"), off)["kernel"]
    names = list(inspect.signature(new).parameters)
    inputs = _data(names, 3 * 16384 + 1000, np.random.default_rng(271), dtype)
    bits = np.int64 if dtype is np.float64 else np.int32
    for a, b in zip(new(**inputs), old(**inputs)):
        differ = np.flatnonzero(a.view(bits) != b.view(bits))
        assert differ.size == 0, (differ.size, differ[:5], a[differ[:5]], b[differ[:5]])
    # the Student-t ∂ν is widened on every element since h-gate31 (no select on the log1p-series window left) and its
    # value's log1p past 2¹⁰⁰⁰ alone: nothing under half the block to gather there
    assert (ran or formula == STUDENT) and not off


def test_a_gathered_function_where_needed_and_elsewhere(student):
    """The Student-t's widened ∂ν sum called directly: where ``needed`` (fewer than half) the same bits as the function
    on every element; 0 elsewhere (the select drops it); with none needed, 0 everywhere and nothing computed; with
    half or more needed, not gathered (the same bits everywhere)."""
    ran = []
    space = _module(student.source, ran)
    (name,) = {m for m in re.findall(r"def (_dw_widened_\w+)\(nu, x,", student.source)
               if "log1p" in space[m].__doc__ and " − " in space[m].__doc__.split(",")[0]}
    space_off = _module(student.source.replace(GATHER, "elif False:"), [])
    rng = np.random.default_rng(5)
    nu, x = rng.uniform(1, 30, 5000), rng.standard_normal(5000)
    needed = ~(np.abs(x * (x / nu)) < WINDOW)
    assert 0 < np.count_nonzero(needed) * 2 < needed.size
    for within in (3.3306690738724404e-16, 2.0 ** -30):
        got = space[name](nu, x, True, needed, within=within)
        want = space_off[name](nu, x, True, needed, within=within)
        assert np.array_equal(got[needed].view(np.int64), want[needed].view(np.int64))
        assert not got[~needed].any()
        before = len(ran)
        assert not space[name](nu, x, True, np.zeros(5000, bool), within=within).any() and len(ran) == before
        most = np.abs(x) > 0.2
        assert np.count_nonzero(most) * 2 >= most.size
        got = space[name](nu, x, True, most, within=within)
        assert np.array_equal(got.view(np.int64), space_off[name](nu, x, True, most, within=within).view(np.int64))
        assert len(ran) == before
