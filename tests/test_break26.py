"""Session 26, h-break26: hostile and careless input on main, through symnet.derive and symnet.compile with SymPy
objects and text, symnet.torch (functional, from_formula) and the NumPy and Triton (interpreter) backends.

Fixed:
- The Triton printer wrote an integer power b^n as n factors b·b·…·b (and b^(n + 1/2) as n factors and √b): n − 1
  roundings and an expression n deep. ``x**1000`` (which the parser allows, exponents up to 1000) compiled, then
  raised RecursionError when launched (Triton's AST walk; x**−1000, x**999.5, (x + y)**1000 alike; a SymPy x**5000
  the same), and the products were past the bound well before: x^20 4.3 ULP in float64, x^50 8.6 ULP in float64 and
  8.9 (∂) in float32 at random points (NumPy's np.power and torch.pow: 0.6). Beyond b⁴ (at most 1.5 ULP, the only
  powers in the committed kernels) the power is now the ``_pow`` helper's (C's pow: double-word n·log|b| in float64,
  float64 in float32, the signs of odd n; ≤ 1.6 ULP on the same points).
- A constant beyond float64 (``1e350*x + y``, ``exp(1000)*x``, ``10**350*x``: the parser allows numbers within 10^±400)
  was printed ``inf`` into the Triton kernel, a name it does not have: NameError at launch (NumPy: inf, the rounding
  of the truth). It is ``float("inf")`` now.
- A SymPy formula holding ``oo``, ``-oo`` or ``zoo`` (the parser refuses them by name) was derived, and its NumPy and
  Triton code named an undefined ``oo`` (NameError when called; from_formula's op likewise). symnet.derive now
  refuses it in one line naming the constant.
- symnet.torch ops given a sparse (COO, CSR) or nested tensor failed wherever the first view or schema met it, in
  torch's words ("unsupported memory format option Contiguous", "Could not run 'symnet_torch::sigmoid' with
  arguments from the 'NestedTensorCPU' backend…" over several lines, "Internal error: NestedTensorImpl doesn't
  support sizes. Please file an issue."): now one TypeError naming the op, the argument, its layout and the fix.
- symnet.compile(…, backend="triton") of a formula of more than 64 inputs reached torch's "RuntimeError: The function
  schema has 400 arguments but this PyTorch build only supports 64" after generating (54 s for 400 inputs);
  from_formula of 64 the same after deriving (27 s; its op also takes the list of options). Both are refused first.
- from_formula(…, inputs=None): "TypeError: 'NoneType' object is not iterable"; a LimitError's point printed the
  integer 10³⁰⁰ of --at x=1e300 as "x = 1000000000…" cut at 200 characters. One line each now.
- F.softmax / F.log_softmax of a 0-d tensor or along an empty axis were refused ("argument 'z' needs a last axis of at
  least one class"), where torch returns 1 (log: 0) and the empty tensor: now torch's answers, gradients included.

Probed clean (no test added): formula text with __import__, dunders, lambda, f-strings, walrus, ';', '#', control and
zero-width characters, look-alike letters, 2000+ characters, 300-deep parentheses, 10**10**10, 1e999; names np,
torch, tl, math, out, BLOCK, pid, offs, mask, print, sum, self, args, kwargs, triton, jit, range, x_ptr, n_elements,
grad_out, kernel, grid, program_id as 32 inputs of one formula (NumPy and Triton, every gradient right); NumPy kernels
on int/bool/float16/complex/object/str/longdouble/datetime/masked arrays (one line each), broadcast-mismatched,
empty, 0-d, negative-stride, transposed, big-endian and read-only arrays; symnet.torch cross_entropy with
ignore_index bool/float/tensor/2⁷⁰/in range/== C, reductions None/'MEAN'/list/tensor, label_smoothing −0.1/1.5/NaN/1,
softcap 0/−1/inf, z_loss −1/inf, targets bool/uint8/int32/float/2⁴⁰/−2⁶³/on meta, weights negative/NaN/strided/expanded,
3e38 logits (ours finite where torch's is inf), 0 rows, 1 class; activations at 0, ±1e−30, subnormals, ±88.7, ±1e4,
±3e38, ±inf, NaN in four dtypes (differences from torch only at ±inf and where torch over- or underflows: ours
the limits); softplus β 1e−310/−1/1e300 and thresholds −5/0/1e308, leaky_relu 1e300/−1/5e−324, elu/celu 0/−2/1e300,
huber/smooth_l1 1e−310, bce_logits pos_weight 0/−1 (ours exact where torch cancels); CLI graph -o to folders,
/dev/null, missing folders, .png without Graphviz; --at repeated, missing, nan, 1/0, 1e−400; verify --points,
--timeout, --max-ulp out of range or NaN; train --epochs −1, --lr NaN/−1; docs --out /proc.

Left open: on the H200 (torch 2.11, triton 3.6; one run of this fix) float64 x^50 was 6.54 ULP and x^1000 121 ULP
through _pow (float32 ≤ 0.85, x^−7 and x^7.5 1.4; tl.exp and tl.log in float64 0.55 and 0.47 ULP there): the
helper's double-word n·log|b| loses its low word on the GPU, not under the interpreter (0.86). Strict xfails on CUDA
for the two measured cases (x^−1000, x^999.5 unmeasured: non-strict). Before this fix x^1000 did not compile and x^50
was products (6 ULP under the interpreter). A second H200 run, float64, worst of value and ∂ at 256 points:
products (main) x^5 1.17, x^8 2.08, x^12 3.01, x^20 2.69, x^50 4.27 ULP; _pow (this fix) 1.22, 1.52, 2.06, 2.93,
6.53: no worse to x^20, worse past it, where both are out of bound. Not library faults: under TRITON_INTERPRET=1 two threads launching kernels at once
fail inside Triton's interpreter (it patches triton.language for the process while a launch runs: 2 of 8 threads
raised InterpreterError "Did you forget to add @triton.jit ?"); CPU-only, Triton's own.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import compiled, triton_torch
from test_breakage21b import _faults, _run

F64, F32 = np.float64, np.float32


def _points(n, dtype, count=24, seed=26):
    """``count`` points ±e^u with |x|^n (and n·x^(n−1)) normal in ``dtype``, u uniform."""
    rng = np.random.default_rng(seed + abs(int(2 * n)))
    info = np.finfo(dtype)
    limit = 0.9 * min(math.log(float(info.max)), -math.log(float(info.tiny))) / (abs(n) + 1)
    xs = np.exp(rng.uniform(-limit, limit, count)) * rng.choice([-1.0, 1.0], count)
    if not float(n).is_integer():
        xs = np.abs(xs)  # a half-integer power of a negative number is NaN
    return [(float(dtype(x)),) for x in xs]


POWERS = [("x**20", 20), ("x**50", 50), ("x**-7", -7), ("x**7.5", 7.5), ("x**1000", 1000), ("x**-1000", -1000),
          ("x**999.5", 999.5)]


def _on_a_gpu() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


# measured 2026-12-04 on the H200 (torch 2.11, triton 3.6) with this fix, float64, 256 points of the same kind: x^50
# 6.54 ULP (∂ 6.78), x^1000 121.0 (∂ 121.3), torch.pow 0.8; x^−7 1.37, x^7.5 1.39; float32 all ≤ 0.85. There tl.exp and
# tl.log in float64 are 0.55 and 0.47 ULP, so _pow's double-word y = n·log|b| loses its low word on the GPU (the
# interpreter: 0.85 and 0.86 ULP); its fractional powers (x**0.3, the focal loss's γ) share the helper
_GPU_F64 = "_pow's float64 double word on a GPU: x^50 6.54 ULP, x^1000 121 ULP on the H200 (measured 2026-12-04)"


def _gpu_float64(formula, dtype):
    if dtype is not F64 or formula not in ("x**50", "x**1000", "x**-1000", "x**999.5") or not _on_a_gpu():
        return []
    measured = formula in ("x**50", "x**1000")  # x**−1000 and x**999.5 were not run there: expected alike
    return [pytest.mark.xfail(strict=measured, reason=_GPU_F64 + ("" if measured else "; this case not measured"))]


@pytest.mark.parametrize("dtype,formula,n", [pytest.param(d, f, n, marks=_gpu_float64(f, d), id=f"{f}-{d.__name__}")
                                             for f, n in POWERS for d in (F64, F32)])
def test_triton_integer_powers_run_and_are_within_bound(formula, n, dtype):
    """x^n and n·x^(n−1) on Triton within 4 ULP (float64) / 8 ULP (float32) of mpmath at 1000 digits, and never worse
    than torch.pow, at 24 random points where the result is normal (now at most 1.0 ULP, ∂ of x^1000 in float32 1.2 as
    torch's). Before (measured 2026-12-04): x**1000, x**−1000 and x**999.5 raised RecursionError when launched; x**50
    was 6.0 ULP (∂ 5.0) in float64 and 10.1 (∂ 14.6) in float32 at these points, torch 0 (n − 1 rounded products);
    x**20, x**−7, x**7.5 passed (within bound at these points: 4.3 ULP for x**20 at others) and must still."""
    triton_torch()
    bad = _faults(formula, ["x"], _points(n, dtype), dtype, lambda t, x: x ** n, backend="triton")
    assert not bad, bad[:4]


def test_triton_power_special_values_as_numpy():
    """x^5, x^−6 and x^1000 at 0, −0, ±inf, NaN, ±1, ±5e−324, ±1e300 on Triton: np.power's value, sign of zero and
    infinity included (the _pow helper's special cases: the products gave these before, and must still)."""
    torch = triton_torch()
    xs = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 5e-324, -5e-324, 1e300, -1e300, -2.5])
    for formula, n in (("x**5", 5), ("x**-6", -6), ("x**1000", 1000)):
        value, _ = compiled(formula, "triton")(torch.tensor(xs))
        with np.errstate(all="ignore"):
            want = np.power(xs, float(n))
        got = value.numpy()
        same = (got == want) & (np.signbit(got) == np.signbit(want)) | np.isnan(got) & np.isnan(want)
        assert same.all(), (formula, xs[~same], got[~same], want[~same])


@pytest.mark.parametrize("formula", ["1e350*x + y", "exp(1000)*x + y", "10**350*x + y"])
def test_triton_constant_beyond_float64_is_inf_as_numpy(formula):
    """A constant past float64 times x, on Triton: inf where x > 0, as NumPy's kernel and the truth rounded (1e350·x
    overflows), and ∂x = inf. Before: NameError("name 'inf' is not defined") at launch (measured 2026-12-04)."""
    triton_torch()
    points = [(0.5, 2.0), (3.0, -1.0)]
    for dtype in (F64, F32):
        triton, _ = _run(formula, ["x", "y"], points, dtype, "triton")
        numpy_, _ = _run(formula, ["x", "y"], points, dtype, "numpy")
        for t, n in zip(triton, numpy_):
            np.testing.assert_array_equal(t, n)
        assert np.isposinf(triton[0]).all() and np.isposinf(triton[1]).all()


X, Y = sp.symbols("x y")


@pytest.mark.parametrize("expr,named", [(sp.oo * X + Y, "oo"), (X - sp.oo * Y, "-oo"), (sp.zoo * X, "zoo"),
                                        (sp.exp(X) * sp.oo + Y, "oo")])
def test_a_sympy_formula_with_an_infinite_constant_is_refused_in_one_line(expr, named):
    """symnet.derive of a SymPy expression holding oo, −oo or zoo: one DerivationError naming it. Before: derived,
    and symnet.compile's NumPy function raised NameError("name 'oo' is not defined") when called (measured
    2026-12-04)."""
    with pytest.raises(symnet.DerivationError) as info:
        symnet.derive(expr)
    message = str(info.value)
    assert "\n" not in message and f"holds {named}," in message and "not a finite number" in message


def test_from_formula_with_an_infinite_constant_is_refused_in_one_line():
    """symnet.torch.from_formula(oo·x + y): the same DerivationError. Before: the module was built and calling it
    raised InterpreterError(NameError("name 'oo' is not defined")) (measured 2026-12-04)."""
    triton_torch()
    import symnet.torch as st

    with pytest.raises(symnet.DerivationError, match="holds oo, which is not a finite number"):
        st.from_formula(sp.oo * X + Y, inputs=["x", "y"])


def _sparse_and_nested(torch):
    dense = torch.randn(4, 5)
    return {"sparse_coo": dense.to_sparse(), "sparse_csr": dense.to_sparse_csr(),
            "nested": torch.nested.nested_tensor([torch.randn(2), torch.randn(3)])}


@pytest.mark.parametrize("kind", ["sparse_coo", "sparse_csr", "nested"])
def test_sparse_and_nested_tensors_are_refused_in_one_line(kind):
    """symnet.torch ops given a sparse (COO, CSR) or nested tensor: one TypeError naming the op, the argument, the
    layout and the fix. Before (measured 2026-12-04): F.sigmoid(x.to_sparse()) "unsupported memory format option
    Contiguous", F.cross_entropy and F.softmax "reshape is not implemented for sparse tensors", CSR "Sparse CSR
    tensors do not have is_contiguous", a nested tensor "Could not run 'symnet_torch::sigmoid' with arguments from
    the 'NestedTensorCPU' backend …" (several lines) and from_formula's "Internal error: NestedTensorImpl doesn't
    support sizes. Please file an issue."."""
    import warnings

    torch = triton_torch()
    import symnet.torch as st

    F = st.functional
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's prototype warning about nested tensors
        odd = _sparse_and_nested(torch)[kind]
    formula = st.from_formula("x*y", inputs="x y")
    calls = {"sigmoid": lambda: F.sigmoid(odd), "mse": lambda: F.mse_loss(torch.randn(4, 5), odd),
             "softmax": lambda: F.softmax(odd, dim=-1), "formula": lambda: formula(odd, 2.0),
             "cross_entropy": lambda: F.cross_entropy(odd, torch.zeros(4, dtype=torch.long)),
             "linear": lambda: F.linear(torch.randn(3, 5), odd)}
    for op, call in calls.items():
        with pytest.raises(TypeError) as info:
            call()
        message = str(info.value)
        assert "\n" not in message and f"is a {kind} tensor" in message and "dense (strided)" in message, (op, message)


@pytest.mark.parametrize("inputs", [None, 3, 2.5])
def test_from_formula_inputs_that_are_not_a_sequence_are_refused_in_one_line(inputs):
    """from_formula("x*y", inputs=None): one DerivationError. Before: "TypeError: 'NoneType' object is not iterable"
    (measured 2026-12-04; 3: "'int' object is not iterable")."""
    triton_torch()
    import symnet.torch as st

    with pytest.raises(symnet.DerivationError, match="inputs must be the formula's variables"):
        st.from_formula("x*y", inputs=inputs)


def test_triton_compile_of_more_inputs_than_a_custom_op_takes_is_refused_before_generating():
    """symnet.compile(d, backend="triton") of a formula of 65 inputs: one SymnetError naming the limit and the NumPy
    backend, raised before any code is generated. Before (measured 2026-12-04): torch's "RuntimeError: The function
    schema has 400 arguments but this PyTorch build only supports 64" when the generated module registered its op,
    54 s into symnet.compile for 400 inputs (64 inputs compile and run: the limit is the schema's)."""
    triton_torch()
    d = symnet.derive(" + ".join(f"x{i}" for i in range(65)))
    with pytest.raises(symnet.SymnetError, match="takes at most 64 inputs.*this formula has 65.*backend='numpy'"):
        symnet.compile(d, backend="triton")
    assert len(symnet.compile(d)(*[np.ones(2)] * 65)) == 66  # NumPy has no such limit


def test_from_formula_of_more_inputs_than_its_op_takes_is_refused_in_one_line():
    """from_formula of 64 inputs: one DerivationError, before deriving. Before (measured 2026-12-04): torch's
    "RuntimeError: The function schema has 65 arguments but this PyTorch build only supports 64", 27 s in (its op
    takes the inputs and a list of options)."""
    triton_torch()
    import symnet.torch as st

    names = [f"x{i}" for i in range(64)]
    with pytest.raises(symnet.DerivationError, match="at most 63 inputs.*this formula has 64"):
        st.from_formula(" + ".join(names), inputs=names)


@pytest.mark.parametrize("formula,at,shown", [("exp(x)", {"x": "1e300"}, "at x = 1.0e+300:"),
                                              ("exp(x)", {"x": "-1e300"}, "at x = -1.0e+300:"),
                                              ("exp(x)*y", {"x": "1e300", "y": "1/3"}, "at x = 1.0e+300, y = 1/3:")])
def test_a_point_past_the_limits_is_named_by_its_magnitude(formula, at, shown):
    """symnet.derive("exp(x)", at={"x": "1e300"}): the LimitError shows x = 1.0e+300. Before (measured 2026-12-04):
    "f = exp(x) at x = 1000000000000000000000000…" (the integer 10³⁰⁰'s digits, cut at 200 characters: the message
    did not show the magnitude the user typed)."""
    with pytest.raises(symnet.LimitError) as info:
        symnet.derive(formula, at=at)
    message = str(info.value)
    assert shown in message and "0000000000" not in message, message


@pytest.mark.parametrize("value", [3.0, -1e30, math.inf, -math.inf, math.nan])
def test_softmax_of_a_0d_tensor_is_torchs(value):
    """F.softmax and F.log_softmax of a 0-d tensor (dim 0, −1 or None): torch's 1 and 0 (NaN at ±inf and NaN), and
    its gradient. Before (measured 2026-12-04): "ValueError: argument 'z' needs a last axis of at least one class, got
    shape ()" (an argument the caller never named)."""
    torch = triton_torch()
    import torch.nn.functional as TF

    import symnet.torch as st

    for ours, theirs in ((st.functional.softmax, TF.softmax), (st.functional.log_softmax, TF.log_softmax)):
        for dim in (0, -1, None):
            x = torch.tensor(value, dtype=torch.float64, requires_grad=True)
            got, want = ours(x, dim=dim), theirs(x.detach().requires_grad_(), dim=dim)
            assert got.shape == () and torch.allclose(got, want, equal_nan=True), (ours.__name__, dim, got, want)
            grad, = torch.autograd.grad(got, x)
            assert torch.allclose(grad, torch.autograd.grad(theirs(x, dim=dim), x)[0], equal_nan=True)


@pytest.mark.parametrize("shape,dim", [((3, 0), 1), ((2, 0, 4), 1), ((0,), 0)])
def test_softmax_along_an_empty_axis_is_empty_as_torchs(shape, dim):
    """F.softmax / F.log_softmax along an axis of length 0: an empty tensor of the input's shape, as torch's, and a
    backward that runs. Before (measured 2026-12-04): "ValueError: argument 'z' needs a last axis of at least one
    class, got shape (3, 0)"."""
    torch = triton_torch()
    import symnet.torch as st

    for op in (st.functional.softmax, st.functional.log_softmax):
        x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
        got = op(x, dim=dim)
        assert got.shape == x.shape
        got.sum().backward()
        assert x.grad.shape == x.shape
