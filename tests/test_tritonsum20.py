"""Issue 16, session 20: Triton float32 kernels' widened sums in double words where float64 is not enough.

A NumPy float32 kernel computes a widened sum (the widen rule: a rounded function cancelling against another input)
in float64 and, where a running bound of that float64 body's error is not within 2⁻³⁰ of it, in double words
(symnet/codegen/doubleword.py: ``within``, FLOAT32_USEFUL). The Triton float32 kernel took the float64 body
everywhere: y − tanh(x) at x = 21, y = 1 was 1.1e7 ULP off (NumPy 0.47, torch 1.1e7). Now the Triton function's
float32 branch computes the same bound (doubleword._Bound over the Triton printer's lowerings, _TRITON_ULPS) and
takes the double word on a block where an element needs it, keeping the float64 body where the bound is within 2⁻³⁰.

References: mpmath at 60 digits (the formula written out here); torch float32 for "never worse than torch". Triton
runs under TRITON_INTERPRET=1 without a GPU, at a few points.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from conftest import compiled, torch_and_triton, torch_autograd_values, triton_torch
from test_breakage5_formula import _ulps  # noqa: E402  |got − want| in steps of the dtype at want

torch, _ = torch_and_triton()

BOUND = 8  # float32 ULPs (issue 16)


def _f32(v) -> float:
    return float(np.float32(float(v)))


def _run(formula, columns: dict, backend):
    """The formula's outputs in float32 at the points ``columns`` (name → values), as float64 arrays."""
    arrays = {n: np.asarray(v, np.float32) for n, v in columns.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if backend == "triton":
            tt = triton_torch()
            out = compiled(formula, "triton")(**{n: tt.tensor(a) for n, a in arrays.items()})
            return [o.double().numpy() for o in out]
        return [np.asarray(o, np.float64) for o in compiled(formula, "numpy")(**arrays)]


def _true(fn, columns: dict):
    names = list(columns)
    with mpmath.workdps(60):
        return np.array([float(fn(*[mpmath.mpf(float(np.float32(columns[n][i]))) for n in names]))
                         for i in range(len(columns[names[0]]))])


def _torch_f(fn, columns: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*[torch.tensor(np.asarray(v, np.float32)) for v in columns.values()]).double().numpy()


CANCELLING = {
    # y − tanh x at y = fl32(tanh x): 1 − tanh 21 = 1.1e−18 rounds to 0 in float64 (Triton float32 1.1e7 ULP before)
    "y - tanh(x)": (lambda x, y: y - mpmath.tanh(x), lambda x, y: y - torch.tanh(x),
                    {"x": [21.0, 30.0, 9.01, -21.0]}, lambda x: _f32(mpmath.tanh(x))),
    # y − e^x at y = fl32(e^x) = 1 + x for x = 2⁻²⁰: −x²/2, a 2⁴¹ cancellation (2.7 ULP before; NumPy 0.33)
    "y - exp(x)": (lambda x, y: y - mpmath.exp(x), lambda x, y: y - torch.exp(x),
                   {"x": [2.0 ** -20, -2.0 ** -21, 2.0 ** -22, 3e-7]}, lambda x: _f32(mpmath.exp(x))),
    # y + sin x at y = −fl32(sin x) = −x for x = 2⁻²⁰: −x³/6 (2.7e3 ULP before; NumPy 0.33)
    "y + sin(x)": (lambda x, y: y + mpmath.sin(x), lambda x, y: y + torch.sin(x),
                   {"x": [2.0 ** -20, -2.0 ** -18, 2.0 ** -15, _f32(mpmath.pi)]}, lambda x: -_f32(mpmath.sin(x))),
}


@pytest.mark.parametrize("formula", sorted(CANCELLING))
def test_float32_triton_where_the_sum_cancels_past_float64(formula):
    """Measured (before → after, Triton float32 ULPs, worst of the four points): y − tanh x 1.1e7 → 0.47, y − e^x
    2.67 → 0.33, y + sin x 2.7e3 → 0.33; NumPy float32 the same as after; torch 1.1e7 / 1.7e7 / 1.6e7."""
    true_fn, torch_fn, columns, y_of = CANCELLING[formula]
    x = np.array(columns["x"], np.float32)
    cols = {"x": x, "y": np.array([y_of(float(v)) for v in x], np.float32)}
    want = _true(true_fn, cols)
    ours = _ulps(_run(formula, cols, "triton")[0], want, np.float32)
    numpy_ours = _ulps(_run(formula, cols, "numpy")[0], want, np.float32)
    theirs = _ulps(_torch_f(torch_fn, cols), want, np.float32)
    assert ours.max() <= BOUND, (ours, x)
    assert (ours <= np.maximum(theirs, BOUND)).all(), (ours, theirs)
    assert ours.max() <= max(numpy_ours.max(), 0.5) + 0.02, (ours, numpy_ours)  # as NumPy's float32 kernel
    # the gradients (not widened sums) against mpmath's derivative and torch's float32 autograd: ∂x of y − tanh x,
    # −(1 − tanh² x), 0.47 ULP worst where torch's autograd is 1.1e7
    outputs = _run(formula, cols, "triton")
    names = [o.name for o in compiled(formula, "triton").kernel.outputs]
    theirs = torch_autograd_values(lambda t, x, y: torch_fn(x, y), ["x", "y"], [cols["x"], cols["y"]], np.float32)
    for name, got in list(zip(names, outputs))[1:]:
        order = (1, 0) if name == "df_dx" else (0, 1)
        with mpmath.workdps(60):
            want = [float(mpmath.diff(true_fn, (mpmath.mpf(float(a)), mpmath.mpf(float(b))), order))
                    for a, b in zip(cols["x"], cols["y"])]
        ours, torch_err = _ulps(got, want, np.float32), _ulps(theirs[name], want, np.float32)
        assert ours.max() <= BOUND and (ours <= np.maximum(torch_err, BOUND)).all(), (name, ours, torch_err)


def test_a_block_with_one_cancelling_element_keeps_the_others_float64():
    """y − σ(z) over 200 random points and one at z = 40, y = 1 (1 − σ(40) = 4.2e−18, 0 in float64) in one block: the
    block takes the double word (the cancelling element within the bound), and every element is within 0.52 float32
    ULP (the float64 body kept within 2⁻³⁰: 2⁻⁶ of a float32 ULP, then one rounding). Before: 1.03e7 ULP at z = 40,
    0.49999 elsewhere; after 0.49999 everywhere."""
    rng = np.random.default_rng(20)
    z = np.concatenate([rng.uniform(-30, 30, 200), [40.0]]).astype(np.float32)
    y = np.concatenate([rng.uniform(0, 1, 200), [1.0]]).astype(np.float32)
    cols = {"y": y, "z": z}
    want = _true(lambda y, z: y - 1 / (1 + mpmath.exp(-z)), cols)
    got = _run("y - sigmoid(z)", cols, "triton")[0]
    err = _ulps(got, want, np.float32)
    assert err.max() <= 0.52, (err.max(), z[int(np.argmax(err))], y[int(np.argmax(err))])
    # and with no such element, the float64 body everywhere: the same bits as NumPy's float32 kernel there
    cols = {"y": y[:200], "z": z[:200]}
    assert (_ulps(_run("y - sigmoid(z)", cols, "triton")[0], want[:200], np.float32) <= 0.52).all()


def test_focal_float32_dt_where_it_cancels_past_float64_in_triton():
    """focal(z, t, 1/4, γ) ∂t at t = 1, γ = 1, z over [−75, −23]: terms of |z|/4 cancel to −|z|·e^z/4 (NumPy fixed in
    session 19, tests/test_focal18.py). Triton float32 before: 1.6e7 ULP at z = −49 (torch the same, 8.7e6–1.4e7);
    after 0 (each output the float32 rounding of mpmath's)."""
    import test_focal18 as focal

    z = np.concatenate([np.linspace(-75, -23, 5), [-56.2]])
    t, g = np.ones_like(z), np.ones_like(z)
    ours, theirs, normal, _ = focal._errors(z, t, g, np.float32, "triton")
    worst = focal._worst(ours, normal, z, t, g)
    assert worst[0] <= BOUND, worst
    assert not (np.nan_to_num(ours, nan=np.inf) > np.maximum(np.nan_to_num(theirs, nan=np.inf), BOUND)).any()


def test_logvar_float32_at_its_zero_in_triton():
    """½(s + (p − t)²e^(−s)) at p = 0, t = 0.3, s on 41 floats around −0.09940636 (a 2⁻³⁵ cancellation, NumPy's
    float32 41.2 → 0.50 ULP in session 18). Triton float32 before: 41.2 ULP; after 0.47 (NumPy 0.47, torch
    1.3e7)."""
    s0 = np.float32(-0.09940636)
    s = (s0 + np.arange(-20, 21).astype(np.float32) * np.spacing(s0)).astype(np.float32)
    cols = {"p": np.zeros_like(s), "s": s, "t": np.full_like(s, np.float32(0.3))}
    want = _true(lambda p, s, t: (s + (p - t) ** 2 * mpmath.exp(-s)) / 2, cols)
    ours = _ulps(_run("0.5*(s + (p - t)**2*exp(-s))", cols, "triton")[0], want, np.float32)
    theirs = _ulps(_torch_f(lambda p, s, t: 0.5 * (s + (p - t) ** 2 * torch.exp(-s)), cols), want, np.float32)
    assert ours.max() <= 1.0, ours.max()
    assert (ours <= np.maximum(theirs, BOUND)).all()


def test_log_of_a_cancelling_product_difference_in_triton_float32():
    """log(x·y − z) at z the float32 nearest x·y and its neighbours (the rounded-log-argument rule: x·y − z in double
    words, first order in its lo part). x·y of two float32 is exact in float64, so this one was right before too:
    Triton float32 0.48 ULP worst before and after (torch 4.8e5)."""
    x = np.array([1.1, 0.7, 123.4, 3.3], np.float32)
    y = np.array([3.3, 1.9, 5.6, 0.3], np.float32)
    z0 = np.array([_f32(float(a) * float(b)) for a, b in zip(x, y)], np.float32)
    z = np.concatenate([np.nextafter(z0, np.float32(0)), np.nextafter(np.nextafter(z0, np.float32(0)), np.float32(0))])
    cols = {"x": np.concatenate([x, x]), "y": np.concatenate([y, y]), "z": z}
    want = _true(lambda x, y, z: mpmath.log(x * y - z), cols)
    ours = _ulps(_run("log(x*y - z)", cols, "triton")[0], want, np.float32)
    assert ours.max() <= BOUND, ours


def test_committed_kernels_at_a_cancellation():
    """kernels/triton/sigmoid_mse.py at z = 40, y = 1 (L = (1 − σ(40))² = 1.8e−35, normal in float32) and
    bce_logits' ∂z = σ(z) − y at z = 2⁻²⁰, y = ½ + 2⁻²², float32: before 1.26e7 and 1.09e4 ULP (the float64 body; torch
    1.26e7 / 1.12e7), now 0.41 and 0.33."""
    from symnet.kernels import load_kernel

    triton_torch()
    z = torch.tensor([40.0, 2.0 ** -20], dtype=torch.float32)
    y = torch.tensor([1.0, 0.5 + 2.0 ** -22], dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        L, _ = load_kernel("sigmoid_mse", "triton").sigmoid_mse(z, y)
        _, dC = load_kernel("bce_logits", "triton").bce_logits(z, y)
    with mpmath.workdps(60):
        s = [1 / (1 + mpmath.exp(-mpmath.mpf(float(v)))) for v in z]
        want_L = float((mpmath.mpf(1) - s[0]) ** 2)
        want_dC = float(s[1] - mpmath.mpf(float(y[1])))
    assert _ulps(float(L[0]), want_L, np.float32) <= 1.0
    assert _ulps(float(dC[1]), want_dC, np.float32) <= 1.0


def test_the_triton_float32_branch_is_the_bound_and_no_fused_multiply_add():
    """The generated function of a bounded body: the float64 path double-word (unchanged), the float32 one the bound,
    the double word in the repair kernel (TIER & 4) on the blocks the main kernel flagged where an element is past the
    bound (session 26; before, under a block-wide test in the main kernel, whose registers it took); Triton text only
    (no NumPy left in the bound); the launcher compiles without FMA contraction for every dtype (Dekker's products;
    before, float32 fused)."""
    source = compiled("y - tanh(x)", "triton").source
    start = source.index("def _dw_widened_")
    function = source[start:source.index("\n\n\n", start)]
    assert "if x.dtype == tl.float64:  # resolved when compiled" in function
    assert "keep = (" in function and "if TIER & 4:" in function
    assert "tl.atomic_or(tier_ptr, tl.max(tl.where(keep | ~lanes, 0, 4)))" in function
    assert "np." not in function
    assert "enable_fp_fusion=False" in source and "enable_fp_fusion=not f64" not in source


def test_bce_logits_float32_dz_at_its_zero_over_random_points():
    """bce_logits ∂z = σ(z) − y at y = fl32(σ(z)), 100 random z in [−8, 8] (tests/test_misc18.py's NumPy case: 1.28 →
    0.4997 ULP in session 18), through Triton float32: the float64 sum cancels past 2²⁴ at most of them (2⁻⁵³ of σ
    against a difference of 2⁻²⁵ of it, or less), and every element is within 0.52 ULP only where the float32
    kernel takes the double word where the bound asks. Measured: before 2.01 ULP worst (z = −4.22); after 0.4997."""
    rng = np.random.default_rng(5)
    z = rng.uniform(-8, 8, 100).astype(np.float32)
    with mpmath.workdps(60):
        y = np.array([_f32(1 / (1 + mpmath.exp(-mpmath.mpf(float(v))))) for v in z], np.float32)
    cols = {"y": y, "z": z}
    want = _true(lambda y, z: 1 / (1 + mpmath.exp(-z)) - y, cols)
    names = [o.name for o in compiled("bce_logits(z, y)", "triton").kernel.outputs]
    got = dict(zip(names, _run("bce_logits(z, y)", cols, "triton")))["df_dz"]
    err = _ulps(got, want, np.float32)
    assert err.max() <= 0.52, (err.max(), z[int(np.argmax(err))])


def test_a_block_takes_the_double_word_for_the_elements_its_select_takes_only(tmp_path):
    """bce_logits ∂z selects among σ(z) − y (z < −log 3), 1 − y − σ(−z) (z > log 3) and a middle form, each computed
    on every element; at z ∈ [20, 40], y = 1 (confident positives) the first cancels to 0 in float64 where it is not
    selected. Each call passes where its select takes it (``needed``, as NumPy's): before, every float32 block there
    took the double word (both blocks of 4,096 such points, counted below); now none does, and the values are the
    same. Counted by the generated kernel itself under the interpreter (a list appended to where a block branches)."""
    import importlib.util

    from symnet.kernels import load_kernel

    triton_torch()
    source = load_kernel("bce_logits", "triton").__file__
    text = open(source, encoding="utf-8").read()
    # (tiered: session 24; the float32 double words in the repair kernel, on the blocks the main kernel listed: 26)
    assert "_needed_repaired(y, z, log_three < -z, " in text and "keep = keep | ~needed" in text
    # (since session 28, h-tail28, the float32 repair kernel computes a listed block in float64: REPAIR == 4 marked)
    branch = "    elif REPAIR == 4:  # float32's repair kernel: the whole block in float64"
    assert text.count(branch) == 1
    head, tail = text.split(branch)
    line_end = tail.index("\n")
    probe = tmp_path / "bce_logits_probe.py"
    probe.write_text("BRANCHES = []\n" + head + branch + tail[:line_end] + "\n        BRANCHES.append(1)"
                     + tail[line_end:], encoding="utf-8")
    spec = importlib.util.spec_from_file_location("bce_logits_probe", probe)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(7)
    z = torch.tensor(rng.uniform(20, 40, 4096), dtype=torch.float32)
    y = torch.ones(4096, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        C, dC = module.bce_logits(z, y)
        assert module.BRANCHES == []
        # and where the selected form cancels (z = 2⁻²⁰, y = ½ + 2⁻²²: the middle one), its block takes it
        z[0], y[0] = 2.0 ** -20, 0.5 + 2.0 ** -22
        module.bce_logits(z, y)
    assert len(module.BRANCHES) >= 1
    with mpmath.workdps(60):
        want = [float(1 / (1 + mpmath.exp(-mpmath.mpf(float(v)))) - 1) for v in z[1:9]]
    assert (_ulps(dC[1:9].double().numpy(), want, np.float32) <= 0.52).all()
