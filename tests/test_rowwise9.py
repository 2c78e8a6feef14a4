"""The row-wise gradients of issue 16 that cancel, NumPy and Triton (under the interpreter where there is no GPU),
against mpmath at 50 digits and torch:

- softmax's vector-Jacobian product s_i·(g_i − Σ_j s_j g_j) and log-softmax's g_i − s_i·Σ_j g_j cancel where
  g_i ≈ Σ_j s_j g_j (s_i·Σ_j g_j ≈ g_i): every rounding of e^{z_j − m}, of Σ and of the sums of g comes back times
  |g_i|/|the result|. float32 computes the block in float64 and rounds once (RowKernel.widen; before: softmax
  45 ULP on random rows of 40, 86 at width 1023, log-softmax 1.9e3 at width 1023; torch 85, 133, 1.1e3); NumPy
  float64 in double-word (RowKernel.double_word); softmax's product at a row's dominant entry (g_c − Σ_j s_j g_j
  rounded to 0 where s_c ≈ 1: 2^23 ULP float32, 4.5e15 float64, as torch's) from sums without c's term;
- the cross-entropy gradient p_j·Σ_k a_k − a_j (soft targets; class indices with label smoothing), float64 NumPy
  in double-word;
- Triton the same (its DW: float64 logits; the softmax VJP of float32 logits too), in rows of one tile and in
  tiles (the online sums' double-word rescaling);
- guards: logsumexp's gradient p_j and the hard-label cross-entropy gradient (class weights) stay within the bound.
"""
from __future__ import annotations

import os
import warnings

import mpmath
import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # the Triton kernels run in the interpreter (read when triton is imported)
    os.environ.setdefault("TRITON_INTERPRET", "1")

from symnet.kernels import load_kernel  # noqa: E402

F = torch.nn.functional
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BOUND = {np.float64: 4.0, np.float32: 8.0}  # ULP, where the true result is normal
BACKENDS = ["numpy", "triton"]


def _needs(backend):
    if backend == "triton":
        pytest.importorskip("triton")


def _rowwise7():
    import test_rowwise7  # ulps, large_rows, the cross-entropy reference
    return test_rowwise7


def exact_vjp(rows, g, name: str) -> list:
    """mpmath at 50 digits: Σ_i g_i ∂y_i/∂z_j of y = softmax (s_j·(g_j − Σ_i s_i g_i)) or log-softmax
    (g_j − s_j·Σ_i g_i), or of logsumexp (g ignored: s_j), row by row."""
    out = []
    with mpmath.workdps(50):
        for zr, gr in zip(rows, g):
            zs = [mpmath.mpf(float(x)) for x in zr]
            gs = [mpmath.mpf(float(x)) for x in gr]
            m = max(zs)
            e = [mpmath.exp(x - m) for x in zs]
            total = mpmath.fsum(e)
            s = [x / total for x in e]
            if name == "softmax":  # g_i − Σ_j s_j g_j = ((g_i − g_c) + g_i·R − D)/Σ, c a maximum (e_c = 1),
                # R = Σ_{j≠c} e_j, D = Σ_{j≠c} e_j g_j: exact where s_c ≈ 1 (g_c − Σ_j s_j g_j would lose the other
                # terms below 10^-50 of g_c: e^−172 is below that)
                c = zs.index(m)
                rest = mpmath.fsum(x for n, x in enumerate(e) if n != c)
                d = mpmath.fsum(x * y for n, (x, y) in enumerate(zip(e, gs)) if n != c)
                out.append([si * ((gi - gs[c]) + gi * rest - d) / total for si, gi in zip(s, gs)])
            elif name == "log_softmax":
                gsum = mpmath.fsum(gs)
                out.append([gi - si * gsum for si, gi in zip(s, gs)])
            else:
                out.append(s)
    return out


def _ours(backend, name, rows, g):
    fn = getattr(load_kernel(name, backend), name + "_grad")
    args = (rows,) if name == "logsumexp" else (rows, g)
    if backend == "triton":
        args = tuple(torch.from_numpy(np.ascontiguousarray(a)).to(DEVICE) for a in args)
    _, dz = fn(*args)
    return np.asarray(dz.cpu().numpy() if hasattr(dz, "cpu") else dz, np.float64)


def _torch(name, rows, g):
    z = torch.from_numpy(rows).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "logsumexp":
            value = torch.logsumexp(z, -1)
        else:
            value = (F.softmax(z, -1) if name == "softmax" else F.log_softmax(z, -1)) * torch.from_numpy(g)
        (dz,) = torch.autograd.grad(value.sum(), z)
    return dz.double().numpy()


def measure_vjp(backend, name, rows, seed: int = 1):
    """(ULP of symnet, ULP of torch) at the entries whose true value is normal, g ~ N(0, 1)."""
    T = _rowwise7()
    dtype = rows.dtype.type
    g = np.random.default_rng(seed).normal(0, 1, rows.shape).astype(dtype)
    want = exact_vjp(rows, g, name)
    tiny = float(np.finfo(dtype).tiny)
    normal = np.array([abs(x) >= tiny for row in want for x in row])
    ours = T.ulps(_ours(backend, name, rows, g), want, dtype)[normal]
    theirs = T.ulps(_torch(name, rows, g), want, dtype)[normal]
    return ours, theirs


def _rows(case: str, dtype, backend: str = "numpy") -> np.ndarray:
    """random rows of 40; a row of 1, 1023, 1823 entries (Triton under the interpreter: one row); the large
    logits of test_rowwise7 (±180 to ±600, gaps up to 80 in float32)."""
    rng = np.random.default_rng(0)
    n = 1 if backend == "triton" and not torch.cuda.is_available() else 2
    rows = {"random": lambda: rng.normal(0, 3, (6, 40)), "width 1": lambda: rng.normal(0, 2, (3, 1)),
            "width 1023": lambda: rng.normal(0, 2, (n, 1023)), "width 1823": lambda: rng.normal(0, 2, (n, 1823)),
            "large": lambda: _rowwise7().large_rows(dtype, count=6)}[case]()
    return rows.astype(dtype)


# ------------------------------------------------------------------ float32: widened to float64

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_float32_vjp_with_upstream_gradient_within_bound(backend, name):
    """float32 Σ_i g_i ∂y_i/∂z_j of softmax and log-softmax: ≤ 8 ULP of mpmath and never above torch's, on
    random rows and rows of 1, 1023 and 1823 entries (log-softmax also at large logits). Widened: the block in
    float64, each output rounded once (0.39–0.50 ULP); before (NumPy): softmax 45 / 86 / 49 ULP (random, width
    1023, width 1823), log-softmax 11 / 1.9e3 / 47 (torch 85 / 133 / 82 and 52 / 1.1e3 / 85)."""
    _needs(backend)
    cases = ["random", "width 1", "width 1023"] + (["width 1823"] if backend == "numpy" else []) \
        + (["large"] if name == "log_softmax" else [])
    failures = []
    for case in cases:
        ours, theirs = measure_vjp(backend, name, _rows(case, np.float32, backend))
        if len(ours) and (ours.max() > BOUND[np.float32] or (ours > np.maximum(theirs, BOUND[np.float32])).any()):
            failures.append(f"{case}: worst {ours.max():.3g} ULP (torch {theirs.max():.3g})")
    assert not failures, "; ".join(failures)


def test_vjp_kernels_widen_and_others_do_not():
    """RowKernel.widen is set where a per-entry output reads g (softmax_grad, log_softmax_grad), not on the
    forward kernels nor on logsumexp_grad (its p_j does not cancel)."""
    from symnet.rowwise_registry import row_kernels
    widen = {k.name: k.widen for mod in ("softmax", "log_softmax", "logsumexp") for k in row_kernels(mod)}
    assert widen == {"softmax": None, "softmax_grad": "always", "log_softmax": None, "log_softmax_grad": "always",
                     "logsumexp": None, "logsumexp_grad": None}


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_widened_vjp_keeps_its_dtype_and_infinite_rows(backend):
    """The widened kernels return float32 and NaN/±∞ where torch does (a row holding +∞, a row of −∞)."""
    _needs(backend)
    inf = np.inf
    rows = np.array([[inf, 1.0, -2.0], [-inf, -inf, -inf], [0.5, -1.0, 3.0]], np.float32)
    g = np.array([[0.3, -0.7, 1.1]] * 3, np.float32)
    for name in ("softmax", "log_softmax"):
        fn = getattr(load_kernel(name, backend), name + "_grad")
        args = (rows, g) if backend == "numpy" else (torch.from_numpy(rows).to(DEVICE), torch.from_numpy(g).to(DEVICE))
        value, dz = fn(*args)
        assert value.dtype == dz.dtype == (np.float32 if backend == "numpy" else torch.float32)
        dz = np.asarray(dz.cpu().numpy() if hasattr(dz, "cpu") else dz, np.float64)
        np.testing.assert_allclose(dz, _torch(name, rows.astype(np.float64), g.astype(np.float64)), rtol=1e-6,
                                   equal_nan=True, err_msg=name)


# ------------------------------------------------------------------ float64 (NumPy: double-word) and a dominant entry

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_numpy_vjp_within_bound_in_float64_and_at_a_dominant_entry(name, dtype):
    """NumPy, float64 and float32: ≤ the bound on random rows, rows of 1, 1023 and 1823 entries, and at large logits,
    where a row's maximum dominates (s_c ≈ 1: g_c − Σ_k s_k g_k rounded to 0, 2^23 ULP float32 and 4.5e15 float64,
    as torch's). float64 in double-word (_row_dw_vjp: softmax 1.7 ULP, log-softmax 0.9; before 30 / 48 on random
    rows of 40, 1e5 / 22 at width 1023; torch 54 / 19, 1.7e5 / 126); softmax's product as
    s_j·((g_j − g_c) + g_j·R − D)/Σ (R, D: the sums without the maximum c's term), in float64 for float32 logits."""
    failures = []
    for case in ("random", "width 1", "width 1023", "width 1823", "large"):
        ours, theirs = measure_vjp("numpy", name, _rows(case, dtype))
        if len(ours) and ours.max() > BOUND[dtype]:
            failures.append(f"{case}: worst {ours.max():.3g} ULP (torch {theirs.max():.3g})")
    assert not failures, "; ".join(failures)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("case", ["float32 large", "float64 random", "float64 large"])
def test_triton_softmax_vjp_within_bound(case, name):
    """Triton's VJPs of float64 logits in double-word (ROW_DW_HELPERS: _row_dw_softmax_vjp_entry,
    _row_dw_target_entry), softmax's of float32 logits from the sums without the maximum's term in float64:
    softmax float32 large 0.40 ULP, float64 random 1.4, large 1.1; log-softmax 0.43, 0.79, 0.56. Before (float64
    sums): softmax 8.4e6, 30, 4.5e15 (torch 8.4e6, 54, 4.5e15), log-softmax 0.43, 54, 5.4 (torch 6.8, 13, 6.2)."""
    _needs("triton")
    dtype = np.float32 if case.startswith("float32") else np.float64
    ours, theirs = measure_vjp("triton", name, _rows(case.split()[1], dtype, "triton"))
    assert ours.max() <= BOUND[dtype], f"worst {ours.max():.3g} ULP (torch {theirs.max():.3g})"


# ------------------------------------------------------------------ guards: no cancellation there

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logsumexp_gradient_within_bound(backend, dtype):
    """∂lse/∂z_j = p_j: a quotient of terms ≥ 0, no cancellation (random rows, width 1023, large logits)."""
    _needs(backend)
    for case in ("random", "width 1023", "large"):
        ours, theirs = measure_vjp(backend, "logsumexp", _rows(case, dtype, backend))
        assert ours.max() <= BOUND[dtype], f"{case}: worst {ours.max():.3g} ULP (torch {theirs.max():.3g})"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hard_label_gradient_within_bound(backend, dtype):
    """∂C/∂z_j = w_r(p_j − δ_jr) with class weights (the class column by the class-gap rule), 'none': within
    the bound at large logits and on random rows (float64 1.7, float32 2.1 ULP; torch 4.5e15 / 8.4e6 at large
    logits, where p_r ≈ 1)."""
    _needs(backend)
    T = _rowwise7()
    for rows in (T.large_rows(dtype, count=6), _rows("random", dtype)):
        for weight in (None, T._weights(rows.shape[1])):
            ours, theirs, normal = T.measure(backend, rows, 0.0, weight)["dz"]
            assert (ours[normal] <= BOUND[dtype]).all(), \
                f"worst {ours[normal].max():.3g} ULP (torch {theirs[normal].max():.3g})"


# ------------------------------------------------------------------ float64 p_j·Σ_k a_k − a_j in double-word

def _target_cases():
    """(label, rows, soft targets): large logits, random rows of 40, targets within 1e-3 of softmax(z) (a
    converged model: dz_j ~ 1e-3·a_j and far less where δ_j ≈ 0), rows of 1, 1023 and 1823 entries."""
    T, T8 = _rowwise7(), pytest.importorskip("test_rowwise8")
    rng = np.random.default_rng(0)
    near = rng.normal(0, 3, (6, 40))
    cases = [("large", T.large_rows(np.float64, count=6), None), ("random", rng.normal(0, 3, (6, 40)), None),
             ("near-converged", near, T8._near_targets(near, 1e-3)), ("width 1", rng.normal(0, 3, (3, 1)), None),
             ("width 1023", rng.normal(0, 3, (1, 1023)), None), ("width 1823", rng.normal(0, 3, (1, 1823)), None)]
    return [(label, rows, T._soft_targets(rows) if t is None else t) for label, rows, t in cases]


def _target_errors(backend, rows, target, weight, eps):
    """(symnet, torch) ULP of ∂C/∂z at the entries whose true value is normal."""
    T = _rowwise7()
    want = T.exact(rows, eps, weight, **({"t": target} if target.dtype.kind == "f" else {"r": target}))
    normal = np.array([abs(x) >= np.finfo(np.float64).tiny for row in want["dz"] for x in row])
    ours = T.ulps(T.symnet_ce(backend, rows, target, weight, eps)[1], want["dz"], np.float64)[normal]
    theirs = T.ulps(T.torch_ce(rows, target, weight, eps)[1], want["dz"], np.float64)[normal]
    return ours, theirs


def test_float64_target_gradient_within_bound():
    """float64 ∂C/∂z = p_j·Σ_k a_k − a_j, NumPy, soft targets (ε = 0, and ε = 0.2 with class weights) and class
    indices with label smoothing ε = 0.1 (with and without weights): ≤ 4 ULP of mpmath everywhere (measured
    0.65–0.92 soft, up to 2.5 hard: its class column is the class-gap rule's float64 value). Before: soft 5.3 and
    27 with ε = 0.2 and weights (large logits), 50 / 61 (random), 1.5e5 (near-converged); hard 12.6 (large), 15
    (random); torch 5.3, 18, 68, 77, 127."""
    T = _rowwise7()
    failures = []
    for label, rows, t in _target_cases():
        weight = T._weights(rows.shape[1])
        for what, target, w, eps in (("soft", t, None, 0.0), ("soft ε=0.2 w", t, weight, 0.2),
                                     ("hard ε=0.1", T._classes(rows), None, 0.1),
                                     ("hard ε=0.1 w", T._classes(rows), weight, 0.1)):
            ours, theirs = _target_errors("numpy", rows, target, w, eps)
            if len(ours) and ours.max() > BOUND[np.float64]:
                failures.append(f"{label} {what}: worst {ours.max():.3g} ULP (torch {theirs.max():.3g})")
    assert not failures, "; ".join(failures)


def _triton_target_failures() -> list[str]:
    """Triton float64 ∂C/∂z on random and near-converged rows of 40 (soft targets, with ε = 0.2 and weights; class
    indices with ε = 0.1, with and without weights): the cells past the bound."""
    T, T8 = _rowwise7(), pytest.importorskip("test_rowwise8")
    rng = np.random.default_rng(0)
    random, near = rng.normal(0, 3, (4, 40)), rng.normal(0, 3, (3, 40))
    failures = []
    for label, rows, t in (("random", random, T._soft_targets(random)), ("near-converged", near, T8._near_targets(near, 1e-3))):
        weight = T._weights(rows.shape[1])
        for what, target, w, eps in (("soft", t, None, 0.0), ("soft ε=0.2 w", t, weight, 0.2),
                                     ("hard ε=0.1", T._classes(rows), None, 0.1),
                                     ("hard ε=0.1 w", T._classes(rows), weight, 0.1)):
            ours, theirs = _target_errors("triton", rows, target, w, eps)
            if ours.max() > BOUND[np.float64]:
                failures.append(f"{label} {what}: worst {ours.max():.3g} ULP (torch {theirs.max():.3g})")
    return failures


def test_float64_target_gradient_triton_within_bound():
    """Triton float64 p_j·Σ_k a_k − a_j in double-word (_row_dw_target_sums, _row_dw_target_entry), rows of one
    tile: ≤ 1.6 ULP of mpmath (soft 0.71 random, 0.68 near-converged; ε = 0.2 and weights 0.70, 0.65; hard
    ε = 0.1 0.74, 0.83; with weights 1.6, 0.98). Before (float64): 30, 1.4e5, 85, 531, 24, 4.2, 71, 15; torch 95,
    4.0e5, 343, 472, 216, 27, 242, 79."""
    _needs("triton")
    failures = _triton_target_failures()
    assert not failures, "; ".join(failures)


@pytest.fixture
def triton_tiles():
    """The Triton row modules with tiles of 16 columns: rows of 40 take the online pass 1 and the tiled pass 2."""
    modules = [load_kernel(name, "triton") for name in ("softmax", "log_softmax", "cross_entropy")]
    saved = [mod._row_tiles for mod in modules]
    for mod in modules:
        mod._row_tiles = lambda V, dtype: {"BLOCK_V": 16, "ONE_READ": False, "num_warps": 4}
    yield
    for mod, tiles in zip(modules, saved):
        mod._row_tiles = tiles


def test_float64_double_word_in_tiles_triton(triton_tiles):
    """The same in tiles of 16 (the double-word sums rescaled by e^{m − m'} in double-word when a tile raises the
    maximum, the softmax VJP's c handed on): within the bound as in one tile."""
    _needs("triton")
    failures = _triton_target_failures()
    for name in ("softmax", "log_softmax"):
        for case in ("random", "large"):
            ours, theirs = measure_vjp("triton", name, _rows(case, np.float64, "triton"))
            if ours.max() > BOUND[np.float64]:
                failures.append(f"{name} {case}: worst {ours.max():.3g} ULP (torch {theirs.max():.3g})")
    assert not failures, "; ".join(failures)


def test_double_word_exponential_to_2_to_the_minus_68():
    """_row_dw_exp_shifted(z, m) = e^{z − m} as hi + lo within 2^-68 relative of mpmath (measured 2^-71.4) from
    z − m = −745 to 0, where e^{z − m} is above 2^-1000; float64's own value (lo 0) below, 0 at −∞, NaN at NaN."""
    ce = load_kernel("cross_entropy", "numpy")
    rng = np.random.default_rng(4)
    z = np.concatenate([rng.uniform(-745, 0, 300), rng.uniform(-2, 0, 300), -rng.exponential(1e-3, 100),
                        [0.0, -1e-300, -693.0, -700.5, -710.0, -np.inf, np.nan]])[None, :]
    m = np.full((1, 1), 0.25)  # z − m rounds: its TwoSum error is part of the argument
    hi, lo = ce._row_dw_exp_shifted(z + 0.25, m)
    assert hi[0, -2] == 0 and np.isnan(hi[0, -1])
    worst = 0.0
    with mpmath.workdps(60):
        for x, h, l in zip(z[0, :-2], hi[0, :-2], lo[0, :-2]):
            arg = mpmath.mpf(float(x + 0.25)) - mpmath.mpf(0.25)
            e = mpmath.exp(arg)
            if e > mpmath.mpf(2) ** -1000:
                worst = max(worst, float(abs((mpmath.mpf(float(h)) + mpmath.mpf(float(l))) / e - 1)))
    assert worst <= 2.0 ** -68, f"relative error 2^{np.log2(worst):.1f}"


def test_double_word_kinds():
    """RowKernel.double_word: "soft" for the soft-target gradient, "hard" for the class-index gradient (with label
    smoothing, its only a_j), "softmax" and "log_softmax" for their VJPs with g, None elsewhere."""
    from symnet.rowwise_registry import row_kernels
    kinds = {k.name: k.double_word for mod in ("softmax", "log_softmax", "logsumexp", "cross_entropy", "nll_loss")
             for k in row_kernels(mod)}
    assert {n: v for n, v in kinds.items() if v} == {"cross_entropy_soft_grad": "soft", "cross_entropy_grad": "hard",
                                                     "softmax_grad": "softmax", "log_softmax_grad": "log_softmax"}
