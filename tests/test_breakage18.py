"""Session 18's breakage tests: hostile inputs against recent work, each fault found a test that failed before its
fix (or a strict xfail naming the fault). References are independent of symnet: mpmath at 50 digits, torch's own
float64-to-float16/float32 conversions, exact rational arithmetic (fractions), torch in float64."""
from __future__ import annotations

import importlib.util
import math
import textwrap
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from conftest import compiled, triton_torch

MP_DPS = 50  # mpmath's digits for each test here (conftest._mpmath_digits)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")


# ---------------------------------------------------------------------------------------------------------------
# (1) Triton kernels with a compensated sum compute in float64 for every input dtype (session 17) and round each
# output at the store with .to(ptr's type). Triton's interpreter turns float64 into bfloat16 wrong (1.0 → 1.8e−40,
# −2.0 → NaN; triton 3.9): a bfloat16 written softmax gave 0.0 for every output, silently. Now the store goes through
# _stored: float64 → float32 rounded to odd → bfloat16, which is the correctly rounded bfloat16.

_SOFTMAX4 = "exp(a0)/(exp(a0) + exp(a1) + exp(a2) + exp(a3))"


def _softmax4_exact(a):
    """p = e^{a_0}/Σ e^{a_i} and ∂p/∂a_j = p·([j = 0] − s_j), at 50 digits."""
    a = [mpmath.mpf(v) for v in a]
    m = max(a)
    total = mpmath.fsum(mpmath.exp(v - m) for v in a)
    s = [mpmath.exp(v - m) / total for v in a]
    return [s[0]] + [s[0] * ((1 if j == 0 else 0) - s[j]) for j in range(4)]


def test_bfloat16_written_softmax_triton_is_the_rounded_true_value():
    torch = triton_torch()
    f = compiled(_SOFTMAX4, "triton")
    assert "float64 for every input dtype" in f.source  # the compensated-sum kernel, the one attacked
    rng = np.random.default_rng(18)
    a = torch.tensor(rng.normal(0, 3, (4, 64)), dtype=torch.bfloat16)
    outputs = f(**{f"a{i}": a[i] for i in range(4)})
    for k in range(a.shape[1]):
        exact = _softmax4_exact([float(a[i, k]) for i in range(4)])
        for out, true in zip(outputs, exact):
            want = _bfloat16_nearest(float(true))
            assert out.dtype == torch.bfloat16 and float(out[k]) == want, (k, float(out[k]), float(true))


def _bfloat16_nearest(x: float) -> float:
    """x rounded to nearest even in bfloat16 (8 significant bits, float32's exponents), in exact rationals:
    torch's own float64 → bfloat16 goes through float32 and rounds twice (1 + 2⁻⁸ + 2⁻³⁰ → 1.0)."""
    if not math.isfinite(x) or x == 0:
        return x
    e = max(math.frexp(abs(x))[1] - 1, -126)
    ulp = Fraction(2) ** (e - 7)
    y = round(Fraction(x) / ulp) * ulp  # Fraction's round: halves to even
    if abs(y) > Fraction(float.fromhex("0x1.fep127")):
        return math.copysign(math.inf, x)
    return math.copysign(float(y), x)


def _helper_kernel(tmp_path):
    """A module holding the generated helper and a kernel that stores x (float64) through it."""
    from symnet.codegen.backends.triton.printer import TRITON_HELPERS

    path = tmp_path / "stored18.py"
    path.write_text("import triton\nimport triton.language as tl\n\n\n" + TRITON_HELPERS["_stored"]
                    + textwrap.dedent('''

                    @triton.jit
                    def store(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                        offs = tl.arange(0, BLOCK)
                        x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
                        tl.store(y_ptr + offs, _stored(x, y_ptr), mask=offs < n)
                    '''))
    spec = importlib.util.spec_from_file_location("stored18", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.store


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "float64"])
def test_stored_from_float64_rounds_once_to_nearest_even(tmp_path, dtype):
    """Against exact rounding (bfloat16) and torch's float64 → dtype conversion (the others), at values a float32 step would round twice (just above and below
    a bfloat16 halfway point: 1 + 2⁻⁸ ± 2⁻³⁰), ties, subnormals, past the largest bfloat16, ±0, ±inf, NaN."""
    torch = triton_torch()
    store = _helper_kernel(tmp_path)
    tiny = float.fromhex("0x1p-133")  # bfloat16's smallest subnormal
    values = [1.0, -2.0, 0.1, 1 + 2**-8, 1 + 2**-8 + 2**-30, 1 + 2**-8 - 2**-30, -(1 + 2**-8 + 2**-30),
              1 + 3 * 2**-8, 1 + 3 * 2**-8 - 2**-40, 3 * tiny / 2, 3 * tiny / 2 + 2**-160, tiny / 2, tiny / 2 + 2**-170,
              float.fromhex("0x1.fep127"), float.fromhex("0x1.ff8p127"), float.fromhex("0x1.ff7fffffffp127"), 1e300,
              -1e300, 1e-300, 0.0, -0.0, float("inf"), float("-inf"), float("nan"), 65519.99, 65520.0, 6e-8, 3e-8]
    x = torch.tensor(values, dtype=torch.float64)
    want = [_bfloat16_nearest(v) for v in values] if dtype == "bfloat16" else x.to(getattr(torch, dtype)).tolist()
    got = torch.empty(len(values), dtype=getattr(torch, dtype))
    store[(1,)](x, got, len(values), BLOCK=32)
    for v, g, w in zip(values, got.tolist(), want):
        assert g == w and math.copysign(1, g) == math.copysign(1, w) or (g != g and w != w), (v, g, w)


def test_stored_from_float32_to_bfloat16_rounds_to_nearest_even(tmp_path):
    """The elementwise kernels compute bfloat16 inputs in float32 and store through _stored too: the interpreter's
    own float32 → bfloat16 truncates (1 + 2⁻⁸ + 2⁻²⁰ → 1.0) and breaks subnormals (2⁻¹³² → 0, 1.5·2⁻¹³³ → 2⁻¹²⁷)."""
    torch = triton_torch()
    store = _helper_kernel(tmp_path)
    tiny = float.fromhex("0x1p-133")
    values = [1 + 2**-8 + 2**-20, 1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8 + 2**-20), 2**-132, 1.5 * tiny, 2.5 * tiny,
              2**-127, 2**-140, 0.1, -0.26894142, 3.3e38, float.fromhex("0x1.fffffep127"), 0.0, -0.0, float("inf"),
              float("-inf"), float("nan")]
    x = torch.tensor(values, dtype=torch.float32)
    got = torch.empty(len(values), dtype=torch.bfloat16)
    store[(1,)](x, got, len(values), BLOCK=32)
    for v, g in zip(x.tolist(), got.tolist()):
        w = _bfloat16_nearest(v)
        assert g == w and math.copysign(1, g) == math.copysign(1, w) or (g != g and w != w), (v, g, w)


def test_bfloat16_sigmoid_triton_is_rounded_not_truncated():
    """symnet.torch's sigmoid in bfloat16 on the CPU (TRITON_INTERPRET=1): sigmoid(−89) was 6.1e−39 (true 2.2e−39),
    sigmoid(−1) 0.2676 (true 0.26894, nearest 0.26953). Now the float32 result rounded to nearest even."""
    torch = triton_torch()
    f = compiled("sigmoid(x)", "triton")
    x = torch.tensor([-88.0, -89.0, -90.0, -91.0, -92.0, -1.0, 0.3, 2.5, -7.25], dtype=torch.bfloat16)
    got = f(x=x)[0]
    value32 = f(x=x.float())[0]  # the same arithmetic (bfloat16 inputs compute in float32), stored in float32
    for v, g, w in zip(x.tolist(), got.tolist(), value32.tolist()):
        assert g == _bfloat16_nearest(w), (v, g, w)
        with mpmath.workdps(30):
            true = 1 / (1 + mpmath.exp(-mpmath.mpf(v)))
        assert abs(g - true) <= float.fromhex("0x1p-133") + abs(true) * 2**-8, (v, g, float(true))  # ≤ ½ ULP + ε


# ---------------------------------------------------------------------------------------------------------------
# (2) A NaN input swallowed by a select: {A if a < b; 0 otherwise} took the constant wherever a or b is NaN (every
# comparison false), so kl_div(x, t) at a NaN target gave f = 0 and gradients 0 (torch: NaN), gaussian_nll's ∂v
# at a NaN variance 0 (torch: NaN), Heaviside(x)·x at x = NaN the value 0, silently: a NaN in the data vanished
# from the loss and its gradient. Now such a select is written {0 if a ≥ b; A otherwise} (ir._nan_through): the
# same where a and b are ordered, A (holding the NaN) where they are not.

def _numpy_outputs(formula, dtype=np.float64, **columns):
    f = compiled(formula)
    with np.errstate(all="ignore"):
        return [np.asarray(o, np.float64) for o in f(**{k: np.asarray(v, dtype) for k, v in columns.items()})]


def _kl_torch(x, t):
    torch = triton_torch()
    X = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    T = torch.tensor(t, dtype=torch.float64, requires_grad=True)
    f = torch.nn.functional.kl_div(X, T, reduction="none")
    return [f.detach().numpy(), *(g.numpy() for g in torch.autograd.grad(f.sum(), (X, T)))]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_kl_div_at_a_nan_target_is_nan_as_torch(backend, dtype):
    x = [0.3, np.nan, -1.0, 0.5, 2.0]
    t = [np.nan, 0.5, 0.0, 0.25, -0.0]
    if backend == "numpy":
        got = _numpy_outputs("kl_div(x, t)", np.dtype(dtype), x=x, t=t)
    else:
        torch = triton_torch()
        got = [o.double().numpy() for o in compiled("kl_div(x, t)", "triton")(
            x=torch.tensor(x, dtype=getattr(torch, dtype)), t=torch.tensor(t, dtype=getattr(torch, dtype)))]
    names = [o.name for o in compiled("kl_div(x, t)", backend).kernel.outputs]
    assert sorted(names) == ["df_dt", "df_dx", "f"]
    torch_out = dict(zip(["f", "df_dx", "df_dt"], _kl_torch(x, t)))
    want = [torch_out[name] for name in names]
    for name, g in zip(names, got):
        assert np.isnan(g[0]), (backend, name, g)  # a NaN target: NaN everywhere (was 0.0 for all three)
        assert np.isnan(g[1]) or name == "df_dx", (backend, name, g)  # a NaN x: ∂x = −t holds no x
    # ordered points as before: t = 0 gives 0 (the definition), t > 0 torch's values; torch's ∂t at t = 0 is NaN
    # (log 0), the Piecewise's 0 the derivative of the 0 taken there
    assert [g[2] for g in got] == [0.0, 0.0, 0.0] and [g[4] for g in got] == [0.0, 0.0, 0.0]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want], rtol=1e-15 if dtype == "float64" else 1e-6)


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gaussian_nll_gradient_in_a_nan_variance_is_nan(dtype, backend):
    names = [o.name for o in compiled("gaussian_nll(x, t, v)", backend).kernel.outputs]
    columns = dict(x=[0.3, 0.3, 0.3], t=[0.0, 0.0, 0.0], v=[np.nan, 1e-9, 0.5])
    if backend == "numpy":
        outputs = _numpy_outputs("gaussian_nll(x, t, v)", dtype, **columns)
    else:
        torch = triton_torch()
        outputs = [o.double().numpy() for o in compiled("gaussian_nll(x, t, v)", "triton")(
            **{k: torch.tensor(np.asarray(v, dtype)) for k, v in columns.items()})]
    out = dict(zip(names, outputs))
    f, dx, dt, dv = out["f"], out["df_dx"], out["df_dt"], out["df_dv"]
    assert np.isnan([f[0], dx[0], dt[0], dv[0]]).all(), (f[0], dx[0], dt[0], dv[0])  # dv was 0.0
    assert dv[1] == 0.0  # below eps: max(v, eps) is constant in v (unchanged)
    with mpmath.workdps(50):
        x, v = mpmath.mpf(float(dtype(0.3))), mpmath.mpf(0.5)
        assert dv[2] == float(dtype((1 - x * x / v) / (2 * v)))


def test_heaviside_times_x_at_nan_is_nan():
    f, dfdx = _numpy_outputs("Heaviside(x)*x", x=[np.nan, -2.0, 3.0])
    assert np.isnan(f[0]), f  # was 0.0: torch.heaviside(nan, 0)·nan is NaN
    assert list(f[1:]) == [0.0, 3.0] and list(dfdx[1:]) == [0.0, 1.0]



@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("name, params", [("softshrink", ()), ("softshrink", (0.25,)), ("hardshrink", ())])
def test_shrink_at_nan_is_nan_as_torch(backend, name, params):
    """A select of three pieces, {x − λ if x > λ; x + λ if x < −λ; 0 otherwise}, or one whose condition is an Or
    (hardshrink's, merged by SymPy): 0.0 at NaN before; torch NaN. Elsewhere torch's values (±0 aside)."""
    torch = triton_torch()
    formula = f"{name}(x{''.join(f', {p}' for p in params)})"
    x = np.array([np.nan, 0.7, -0.7, 0.1, 0.3, 0.5, -0.5, 0.25, -0.25, 1e300, -np.inf])
    if backend == "numpy":
        got = _numpy_outputs(formula, x=x)[0]
    else:
        got = compiled(formula, "triton")(x=torch.tensor(x))[0].numpy()
    want = getattr(torch.nn.functional, name)(torch.tensor(x), *params).numpy()
    assert np.isnan(got[0]), got  # was 0.0
    np.testing.assert_array_equal(got[1:], want[1:])

# ---------------------------------------------------------------------------------------------------------------
# (3) symnet.verify(timeout=) and bounds.time_limit armed ITIMER_REAL for their own budget and, on leaving,
# cancelled it: a timer already running (pytest-timeout's signal method, the user's own alarm, an enclosing
# time_limit) was gone for good, so a test with a 30 s timeout that called symnet.verify could then hang without
# bound; and while inside, the outer deadline never fired. Now (bounds.alarm) the earlier deadline is the timer,
# the outer handler runs at its own deadline, and the outer timer is armed again with the time it had left.

class _Outer(Exception):
    pass


@pytest.fixture
def outer_timer():
    import signal

    calls = []

    def handler(signum, frame):
        calls.append(signum)
        raise _Outer("the outer timer")

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        yield calls
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_verify_keeps_a_timer_already_running(outer_timer):
    import signal

    import symnet

    signal.setitimer(signal.ITIMER_REAL, 600)
    symnet.verify("x*x", n=2, dtypes="float64", torch=False, timeout=300)
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 0 < left <= 600, left  # was 0.0: the caller's timer cancelled
    assert signal.getsignal(signal.SIGALRM).__name__ == "handler" and not outer_timer


def test_an_outer_timer_fires_inside_a_longer_time_limit(outer_timer):
    import signal
    import time

    from symnet.bounds import time_limit

    signal.setitimer(signal.ITIMER_REAL, 0.2)
    start = time.monotonic()
    inside = []
    with pytest.raises(_Outer):
        with time_limit(60):
            try:
                while time.monotonic() - start < 30:  # before: the outer deadline replaced, the loop ran out its time
                    pass
            except _Outer:
                inside.append(True)  # raised in the loop, not after the block (it was a bound on the wall clock,
                raise                # < 4 s: the machine's load decided it; thread45)
    assert inside and outer_timer == [signal.SIGALRM]


def test_a_shorter_time_limit_raises_then_gives_the_outer_timer_back(outer_timer):
    import signal
    import time

    from symnet.bounds import time_limit
    from symnet.errors import LimitError

    signal.setitimer(signal.ITIMER_REAL, 600)
    start = time.monotonic()
    with pytest.raises(LimitError, match="too long"):
        with time_limit(0.2, "too long"):
            while time.monotonic() - start < 5:
                pass
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 590 < left < 600 and not outer_timer  # was 0.0


# ---------------------------------------------------------------------------------------------------------------
# (4) FusedStep.load_state_dict checked a state's entries for NaN and inf as given, not as copied in: a float64
# state (a checkpoint saved from a float64 run, or edited) with an entry past float32's range became inf in a float32
# optimizer's state, and the next step made the weights inf/NaN with a finite loss, silently. Now refused in one line
# (and nothing changed); a float64 state within range still loads, as torch.optim's load_state_dict casts.

def _fused_model():
    torch = triton_torch()
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_fused_step_refuses_a_state_past_its_own_dtype(optimizer):
    torch = triton_torch()
    from symnet.errors import FusedStepError
    from symnet.torch.optim import FusedStep

    x, t = torch.randn(5, 3), torch.randint(0, 2, (5,))
    first = FusedStep(_fused_model(), optimizer=optimizer, lr=0.01)
    first.step(x, t)
    state = first.state_dict()
    state["state"] = [torch.full_like(s, 1e300, dtype=torch.float64) if i == 0 else s.double()
                      for i, s in enumerate(state["state"])]
    other = FusedStep(_fused_model(), optimizer=optimizer, lr=0.02)
    before = [s.clone() for s in other.state]
    with pytest.raises(FusedStepError, match=r"state tensor 0 .* entry of 1e\+300, beyond torch.float32's range"):
        other.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(before, other.state)) and other.lr == 0.02
    state["state"][0] = first.state[0].double()  # float64 within range: taken, rounded to float32
    other.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(other.state, first.state))
    other.step(x, t)
    assert all(bool(torch.isfinite(p).all()) for p in other.params)


# ---------------------------------------------------------------------------------------------------------------
# (5) symnet.torch.functional's relu, leaky_relu, elu, hardtanh, silu, … took torch's inplace= and ignored it: after
# F.relu(x, inplace=True) x was unchanged (torch: x holds relu(x), and is what is returned), so code written for
# torch that kept using x went on with the activation never applied, silently; nn.ReLU(inplace=True) the same.
# Now the result is written into the input, autograd through it as torch's (a non-leaf; a leaf that requires grad
# refused by torch's own message).

@pytest.mark.parametrize("name, params", [("relu", ()), ("leaky_relu", (0.2,)), ("elu", (1.5,)),
                                          ("hardtanh", (-0.5, 0.5)), ("silu", ())])
def test_functional_inplace_writes_into_the_input_as_torch(name, params):
    torch = triton_torch()
    import symnet.torch.functional as F

    ours, theirs = getattr(F, name), getattr(torch.nn.functional, name)
    x = torch.tensor([-1.0, 0.3, 2.0, -0.25], dtype=torch.float64)
    xr = x.clone()
    y = ours(x, *params, inplace=True)
    assert y is x and torch.allclose(x, theirs(xr, *params, inplace=True), rtol=1e-12, atol=0)  # x was unchanged
    w = torch.tensor([-1.0, 0.3, 2.0, -0.25], dtype=torch.float64, requires_grad=True)
    wr = w.detach().clone().requires_grad_()
    h, hr = w * 3, wr * 3
    ours(h, *params, inplace=True)
    theirs(hr, *params, inplace=True)
    (h * h).sum().backward()
    (hr * hr).sum().backward()
    assert torch.allclose(w.grad, wr.grad, rtol=1e-12, atol=0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        ours(torch.ones(2, dtype=torch.float64, requires_grad=True), *params, inplace=True)
    plain = torch.tensor([-1.0, 2.0], dtype=torch.float64)
    ours(plain, *params)  # inplace=False (the default): a new tensor, the input as it was
    assert torch.equal(plain, torch.tensor([-1.0, 2.0], dtype=torch.float64))


def test_nn_relu_inplace_writes_into_its_input_as_torch():
    torch = triton_torch()
    import symnet.torch.nn as N

    x = torch.tensor([-1.0, 2.0])
    assert N.ReLU(inplace=True)(x) is x and x.tolist() == [0.0, 2.0]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), N.ReLU(inplace=True), torch.nn.Linear(4, 2)).double()
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(inplace=True), torch.nn.Linear(4, 2)).double()
    reference.load_state_dict(model.state_dict())
    data = torch.randn(5, 3, dtype=torch.float64)
    model(data).square().sum().backward()
    reference(data).square().sum().backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=1e-12, atol=1e-15)


def test_bfloat16_subnormal_inputs_reach_the_kernel_exactly():
    """The loads too: the interpreter's bfloat16 → float32 breaks subnormals, so relu(2⁻¹²⁷) was 0, relu(1.0e−39)
    4.4e−39, relu(2⁻¹³³) 0. Now a bfloat16 input is upcast by its bits (_upcast): relu(x) = x exactly, leaky_relu
    the exact x/2 rounded to nearest even."""
    torch = triton_torch()
    import symnet.torch.functional as F

    tiny = float.fromhex("0x1p-133")
    values = [tiny, 3 * tiny, 2**-127, 1.5 * 2**-127, 2**-126, 1e-39, -1e-39, -3 * tiny, -1.0, 2.5]
    x = torch.tensor(values, dtype=torch.bfloat16)
    exact = x.float().tolist()  # torch's own bfloat16 → float32 (exact)
    assert F.relu(x).float().tolist() == [max(v, 0.0) for v in exact]
    assert F.leaky_relu(x, 0.5).float().tolist() == [v if v > 0 else _bfloat16_nearest(v / 2) for v in exact]
