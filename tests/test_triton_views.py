"""Every Triton kernel on views (issue 20): row-sliced, offset, strided, transposed, column-strided
and expanded (stride 0) tensors give what torch gives in float64, and no kernel reads or writes
outside its tensors. Each input lies in a bigger buffer whose other entries are sentinels, and every
tensor a launcher allocates is placed the same way (the module's ``torch`` is wrapped), so an
out-of-bounds write shows as a changed sentinel. Indices read from user data (classes, the order
of examples) are bounded in the kernel also with ``check=False``: the documented result, tested
here, is NaN where the index is bad. Under Triton's interpreter (TRITON_INTERPRET=1): tiny shapes."""
from __future__ import annotations

import math
import pytest
from conftest import torch_and_triton

torch, triton = torch_and_triton()

from symnet.kernels import load_kernel  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the interpreter's numpy overflows

GUARD = 64  # sentinel entries on each side of every buffer
SENTINEL = 1234.5

# name → (the base's shape for a logical (N, V) view, the (N, V) view of the base)
VIEWS = {
    "contiguous": (lambda N, V: (N, V), lambda b, N: b),
    "row-sliced": (lambda N, V: (N, V + 3), lambda b, N: b[:, :-3]),
    "offset": (lambda N, V: (N + 3, V), lambda b, N: b[3:]),
    "strided rows": (lambda N, V: (2 * N, V), lambda b, N: b[::2]),
    "transposed": (lambda N, V: (V, N), lambda b, N: b.t()),
    "column-strided": (lambda N, V: (N, 2 * V), lambda b, N: b[:, ::2]),
    "expanded": (lambda N, V: (1, V), lambda b, N: b.expand(N, -1)),
}
SHAPES = [(3, 7), (5, 1), (1, 1023)]


class Guarded:
    """A buffer with sentinels around a region; ``changed_outside(where)`` tells whether anything
    but the entries at ``where`` (positions in the buffer) was written."""

    def __init__(self, n, dtype):
        fill = SENTINEL if dtype.is_floating_point else 12345
        self.buf = torch.full((n + 2 * GUARD,), fill, dtype=dtype, device=DEVICE)
        self.n = n
        self.region = self.buf[GUARD:GUARD + n]
        self.before = None

    def snapshot(self):
        self.before = self.buf.clone()

    def changed_outside(self, where=None):
        keep = torch.ones(self.buf.numel(), dtype=torch.bool, device=DEVICE)
        if where is not None:
            keep[where.reshape(-1)] = False
        return not torch.equal(self.buf[keep], self.before[keep])

    def guards_intact(self):
        fill = self.buf[0].item()
        return bool((self.buf[:GUARD] == fill).all()) and bool((self.buf[GUARD + self.n:] == fill).all())


class GuardedTorch:
    """``torch`` for a kernel module: every tensor its launchers allocate lies between sentinels."""

    def __init__(self):
        self.buffers = []

    def __getattr__(self, name):
        return getattr(torch, name)

    def _inside(self, shape, dtype, device):
        shape = tuple(shape)
        g = Guarded(math.prod(shape), dtype or torch.float32)
        self.buffers.append(g)
        return g.region.view(shape)

    @staticmethod
    def _shape(size):
        return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size

    def empty(self, *size, dtype=None, device=None, **_):
        return self._inside(self._shape(size), dtype, device)

    def zeros(self, *size, dtype=None, device=None, **_):
        return self._inside(self._shape(size), dtype, device).zero_()

    def full(self, size, value, dtype=None, device=None, **_):
        return self._inside(self._shape((size,)), dtype, device).fill_(value)

    def empty_like(self, x, dtype=None, **_):
        return self._inside(x.shape, dtype or x.dtype, x.device)

    def intact(self):
        return all(g.guards_intact() for g in self.buffers)


@pytest.fixture
def guarded(monkeypatch):
    """Load a kernel module with its allocations guarded; check the guards after the test."""
    wrapped = []

    def load(name):
        mod = load_kernel(name, "triton")
        g = GuardedTorch()
        monkeypatch.setattr(mod, "torch", g)
        wrapped.append(g)
        return mod
    yield load
    assert all(g.intact() for g in wrapped), "a kernel wrote past the end of a tensor its launcher allocated"


def view(kind, N, V, dtype=torch.float32, seed=0, scale=3.0):
    """A (N, V) view of the given kind into a guarded buffer of random values; the buffer."""
    base_shape, make = VIEWS[kind]
    shape = base_shape(N, V)
    n = math.prod(shape)
    g = Guarded(n, dtype)
    gen = torch.Generator().manual_seed(seed)
    g.region.copy_((torch.randn(n, generator=gen, dtype=torch.float64) * scale).to(dtype))
    x = make(g.region.view(shape), N)
    g.where = make(torch.arange(GUARD, GUARD + n, device=DEVICE).view(shape), N)
    g.snapshot()
    assert tuple(x.shape) == (N, V)
    return x, g


def close(got, want, rtol=2e-5, atol=2e-6):
    got = got.detach().to(torch.float64).cpu()
    want = want.detach().to(torch.float64).cpu()
    assert got.shape == want.shape
    bad = ~torch.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    assert not bad.any(), (f"{int(bad.sum())} of {bad.numel()} entries differ; first at "
                           f"{tuple(bad.nonzero()[0].tolist())}: {got[bad][0].item()} vs {want[bad][0].item()}")


def untouched(*buffers):
    for g in buffers:
        assert not g.changed_outside(), "a kernel wrote into one of its inputs"


def test_the_guards_see_a_write_past_the_end():
    """The harness itself: a store one entry past a guarded tensor, or into a gap of a view, shows."""
    g = GuardedTorch()
    g.empty(3, 7)
    assert g.intact()
    g.buffers[0].buf[GUARD + 21] = 0.0
    assert not g.intact()
    x, gx = view("row-sliced", 3, 7)
    x.add_(1.0)
    assert not gx.changed_outside(gx.where) and gx.changed_outside()
    x.as_strided((1,), (1,), x.storage_offset() + 7).fill_(0.0)  # column 7 of row 0: a gap of the view
    assert gx.changed_outside(gx.where)


# ------------------------------------------------------------------ row-wise kernels

def f64(x):
    return x.detach().to(torch.float64)


@pytest.mark.parametrize("kind", VIEWS)
@pytest.mark.parametrize("N,V", SHAPES)
def test_softmax_and_log_softmax_on_views(guarded, kind, N, V):
    z, gz = view(kind, N, V, seed=1)
    up, gg = view(kind, N, V, seed=2)
    for mod, fn in (("softmax", torch.softmax), ("log_softmax", torch.log_softmax)):
        m = guarded(mod)
        close(getattr(m, mod)(z), fn(f64(z), -1))
        value, dz = getattr(m, f"{mod}_grad")(z, up)
        Z = f64(z).requires_grad_()
        ref = fn(Z, -1)
        (want,) = torch.autograd.grad(ref, Z, f64(up))
        close(value, ref)
        close(dz, want)
    untouched(gz, gg)


@pytest.mark.parametrize("kind", VIEWS)
@pytest.mark.parametrize("N,V", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_on_views(guarded, kind, N, V, reduction):
    z, gz = view(kind, N, V, seed=3)
    r = torch.arange(N, device=DEVICE) * 5 % V
    m = guarded("softmax_cross_entropy")
    Z = f64(z).requires_grad_()
    ref = torch.nn.functional.cross_entropy(Z, r, reduction=reduction)
    (want,) = torch.autograd.grad(ref.sum(), Z)
    close(m.softmax_cross_entropy(z, r, reduction), ref)
    loss, dz = m.softmax_cross_entropy_grad(z, r, reduction)
    close(loss, ref)
    close(dz, want)
    untouched(gz)


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-12), (torch.bfloat16, 2e-2)])
@pytest.mark.parametrize("kind", ["row-sliced", "expanded", "transposed"])
def test_row_kernels_on_views_in_float64_and_bfloat16(guarded, kind, dtype, rtol):
    N, V = 3, 7
    z, gz = view(kind, N, V, dtype, seed=8)
    up, _ = view(kind, N, V, dtype, seed=9)
    r = torch.tensor([1, 6, 0], device=DEVICE)
    Z = f64(z).requires_grad_()
    ref = torch.nn.functional.cross_entropy(Z, r)
    (want,) = torch.autograd.grad(ref, Z)
    loss, dz = guarded("softmax_cross_entropy").softmax_cross_entropy_grad(z, r)
    close(loss, ref, rtol=rtol, atol=rtol)
    close(dz, want, rtol=rtol, atol=rtol)
    p, dp = guarded("softmax").softmax_grad(z, up)
    Z = f64(z).requires_grad_()
    sm = torch.softmax(Z, -1)
    (want,) = torch.autograd.grad(sm, Z, f64(up))
    close(p, sm, rtol=rtol, atol=rtol)
    close(dp, want, rtol=rtol, atol=4 * rtol)
    untouched(gz)


@pytest.mark.parametrize("kind", ["row-sliced", "expanded", "offset"])
def test_long_rows_take_the_two_pass_path_on_views(guarded, kind):
    """V > ONE_READ_MAX: the row is read in tiles, twice; every tile by the tensor's own row stride."""
    m = guarded("softmax_cross_entropy")
    N, V = 2, m.ONE_READ_MAX + 100
    z, gz = view(kind, N, V, seed=11)
    r = torch.tensor([V - 1, 5], device=DEVICE)
    Z = f64(z).requires_grad_()
    ref = torch.nn.functional.cross_entropy(Z, r, reduction="none")
    (want,) = torch.autograd.grad(ref.sum(), Z)
    loss, dz = m.softmax_cross_entropy_grad(z, r, "none")
    close(loss, ref)
    close(dz, want, rtol=1e-4, atol=1e-8)
    up, _ = view(kind, N, V, seed=12)
    ls, dls = guarded("log_softmax").log_softmax_grad(z, up)
    Z = f64(z).requires_grad_()
    lref = torch.log_softmax(Z, -1)
    (want,) = torch.autograd.grad(lref, Z, f64(up))
    close(ls, lref)
    close(dls, want, rtol=1e-4, atol=1e-5)
    untouched(gz)


@pytest.mark.parametrize("kind", ["contiguous", "strided rows", "expanded", "offset"])
def test_cross_entropy_classes_as_views(guarded, kind):
    """The classes are read as r[row] from flat memory: a strided or expanded r is made contiguous."""
    N, V = 5, 7
    z, _ = view("contiguous", N, V, seed=4)
    base = torch.tensor([[3], [1], [6], [0], [2], [5], [4], [1], [2], [0]], device=DEVICE)
    r = {"contiguous": base[:N, 0], "strided rows": base[::2, 0], "expanded": base[:1, 0].expand(N),
         "offset": base[5:, 0]}[kind]
    m = guarded("softmax_cross_entropy")
    Z = f64(z).requires_grad_()
    ref = torch.nn.functional.cross_entropy(Z, r, reduction="none")
    (want,) = torch.autograd.grad(ref.sum(), Z)
    loss, dz = m.softmax_cross_entropy_grad(z, r, "none")
    close(loss, ref)
    close(dz, want)


@pytest.mark.parametrize("kind", ["contiguous", "row-sliced", "offset", "strided rows", "transposed",
                                  "column-strided"])
def test_cross_entropy_inplace_overwrites_exactly_the_view(kind):
    """inplace=True: the gradient lands in the caller's tensor (copied back where the launcher had to
    copy the rows), and nothing else in its buffer changes."""
    N, V = 3, 7
    z, gz = view(kind, N, V, seed=5)
    r = torch.tensor([0, 6, 3], device=DEVICE)
    Z = f64(z).requires_grad_()
    ref = torch.nn.functional.cross_entropy(Z, r)
    (want,) = torch.autograd.grad(ref, Z)
    m = load_kernel("softmax_cross_entropy", "triton")
    loss, dz = m.softmax_cross_entropy_grad(z, r, inplace=True)
    assert dz is z
    close(loss, ref)
    close(z, want)
    assert not gz.changed_outside(gz.where), "inplace wrote outside the view"
    assert gz.guards_intact()


def test_cross_entropy_inplace_refuses_an_expanded_view():
    z = torch.zeros(1, 7, device=DEVICE).expand(3, 7)
    m = load_kernel("softmax_cross_entropy", "triton")
    with pytest.raises(ValueError, match="expanded view"):
        m.softmax_cross_entropy_grad(z, torch.zeros(3, dtype=torch.int64, device=DEVICE), inplace=True)


def test_row_views_of_three_dimensional_logits(guarded):
    """(B, T, V) logits permuted so their rows do not merge: the launcher copies them."""
    base, _ = view("contiguous", 6, 5, seed=6)
    z = base.view(3, 2, 5).transpose(0, 1)  # (2, 3, 5), not viewable as (6, 5)
    m = guarded("log_softmax")
    close(m.log_softmax(z), torch.log_softmax(f64(z), -1))
    r = torch.tensor([[0, 4, 2], [1, 3, 0]], device=DEVICE)
    ce = guarded("softmax_cross_entropy")
    Z = f64(z).requires_grad_()
    ref = torch.nn.functional.cross_entropy(Z.reshape(-1, 5), r.reshape(-1))
    (want,) = torch.autograd.grad(ref, Z)
    loss, dz = ce.softmax_cross_entropy_grad(z, r)
    close(loss, ref)
    close(dz, want)
    ce.softmax_cross_entropy_grad(z, r, inplace=True)  # rows copied by the launcher, then copied back
    close(z, want)


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_a_class_out_of_range_with_check_false_poisons_only_its_row(guarded, reduction):
    """check=False: a class outside [0, V) is never read; its row's loss and gradient are NaN (so a
    finiteness check catches it), every other row is exact, ignore_index rows are 0."""
    N, V = 4, 7
    z, _ = view("row-sliced", N, V, seed=7)
    r = torch.tensor([2, 7, -100, 1 << 40], device=DEVICE)  # in range, = V, ignored, far out
    m = guarded("softmax_cross_entropy")
    loss, dz = m.softmax_cross_entropy_grad(z, r, reduction, check=False)
    rows = torch.tensor([0], device=DEVICE)
    Z = f64(z[rows]).requires_grad_()
    ref = torch.nn.functional.cross_entropy(Z, r[rows], reduction="none")
    (want,) = torch.autograd.grad(ref.sum(), Z)
    close(dz[0], want[0])
    assert torch.isnan(dz[1]).all() and torch.isnan(dz[3]).all()
    assert (dz[2] == 0).all()
    if reduction == "none":
        close(loss[0], ref[0])
        assert torch.isnan(loss[1]) and torch.isnan(loss[3]) and loss[2] == 0
    else:
        assert torch.isnan(loss)
    assert torch.isnan(m.softmax_cross_entropy(z, r, "none", check=False)[[1, 3]]).all()


# ------------------------------------------------------------------ elementwise kernels

ELEMENTWISE = {  # module → (its function, the inputs' names, torch float64 references of its outputs)
    "sigmoid": lambda z: (torch.sigmoid(z), torch.sigmoid(z) * (1 - torch.sigmoid(z))),
    "softplus": lambda z: (torch.nn.functional.softplus(z), torch.sigmoid(z)),
    "log_sigmoid": lambda z: (torch.nn.functional.logsigmoid(z), torch.sigmoid(-z)),
    "mse": lambda a, y: ((a - y) ** 2, 2 * (a - y)),
    "sigmoid_mse": lambda z, y: ((y - torch.sigmoid(z)) ** 2,
                                 -2 * (y - torch.sigmoid(z)) * torch.sigmoid(z) * (1 - torch.sigmoid(z))),
    "bce_logits": lambda z, y: (torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none"),
                                torch.sigmoid(z) - y),
}


@pytest.mark.parametrize("kind", VIEWS)
@pytest.mark.parametrize("N,V", SHAPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_kernels_on_views(guarded, name, kind, N, V):
    """Elementwise launchers copy a strided view to contiguous memory (their docstring says so)."""
    ref = ELEMENTWISE[name]
    arity = ref.__code__.co_argcount
    ins = [view(kind, N, V, seed=10 + q, scale=2.0) for q in range(arity)]
    if name in ("sigmoid_mse", "bce_logits"):  # y: targets in (0, 1)
        y, gy = view(kind, N, V, seed=20, scale=0.2)
        gy.region.abs_()  # in [0, 1) (0.2·|normal| < 1 for these seeds)
        gy.snapshot()
        ins[1] = (y, gy)
    xs = [x for x, _ in ins]
    m = guarded(name)
    got = getattr(m, name)(*xs)
    want = ref(*[f64(x) for x in xs])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        close(g, w, rtol=1e-5, atol=1e-6)
    total, *_ = getattr(m, name)(*xs, reduction="sum")
    close(total, want[0].sum(), rtol=1e-5, atol=1e-5)
    untouched(*[g for _, g in ins])


def test_compiled_user_formula_on_views():
    import symnet
    import sympy as sp
    x, y = sp.symbols("x y", real=True)
    compiled = symnet.compile(symnet.derive(x * sp.exp(-x ** 2) + y, [x, y]), backend="triton")
    for kind in VIEWS:
        x, gx = view(kind, 3, 7, seed=30, scale=1.0)
        y, gy = view(kind, 3, 7, seed=31, scale=1.0)
        out = compiled(x, y)
        X, Y = f64(x), f64(y)
        close(out[0], X * torch.exp(-X ** 2) + Y, rtol=1e-5, atol=1e-6)
        close(out[1], (1 - 2 * X ** 2) * torch.exp(-X ** 2), rtol=1e-5, atol=1e-6)
        untouched(gx, gy)


# ------------------------------------------------------------------ dense layers

LAYER_KINDS = ["contiguous", "row-sliced", "offset", "transposed", "expanded"]


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_dense_layers_on_views(guarded, kind):
    """Dense launchers make every operand contiguous (documented); outputs are new tensors."""
    B, m_, n_ = 5, 3, 4
    a, ga = view(kind, B, m_, seed=40, scale=1.0)
    W, gW = view(kind, n_, m_, seed=41, scale=1.0)
    b = view(kind, 1, n_, seed=42, scale=1.0)[0][0]
    g, gg = view(kind, B, n_, seed=43, scale=1.0)
    dense = guarded("dense")
    A, Wd, bd, G = (f64(t).requires_grad_() for t in (a, W, b, g))
    for name, act in (("linear", lambda s: s), ("dense_sigmoid", torch.sigmoid)):
        y = act(A @ Wd.T + bd)
        close(getattr(dense, name)(a, W, b), y)
        grads = torch.autograd.grad(y, (Wd, bd, A), G)
        if name == "linear":
            got = dense.linear_backward(a, W, g)
        else:
            got = dense.dense_sigmoid_backward(a, W, y.detach().to(torch.float32), g)
        for x, w in zip(got, grads):
            close(x, w)
    untouched(ga, gW, gg)


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_rnn_step_on_views(guarded, kind):
    B, D, H = 5, 3, 4
    x, gx = view(kind, B, D, seed=50, scale=1.0)
    hp, gh = view(kind, B, H, seed=51, scale=1.0)
    Wi, _ = view(kind, H, D, seed=52, scale=1.0)
    Wh, _ = view(kind, H, H, seed=53, scale=1.0)
    g, _ = view(kind, B, H, seed=54, scale=1.0)
    rnn = guarded("rnn_step")
    X, HP, WI, WH = (f64(t).requires_grad_() for t in (x, hp, Wi, Wh))
    h = torch.sigmoid(X @ WI.T + HP @ WH.T)
    close(rnn.rnn_step(x, hp, Wi, Wh), h)
    want = torch.autograd.grad(h, (WI, WH, HP), f64(g))
    got = rnn.rnn_step_backward(x, hp, Wi, Wh, h.detach().to(torch.float32), g)
    for q, w in zip(got, want):
        close(q, w)
    untouched(gx, gh)


# ------------------------------------------------------------------ fused training steps

def mlp_data(seed=0, n=8, d=3, h=4, c=2):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen).to(DEVICE)
    t = torch.randint(0, c, (n,), generator=gen).to(DEVICE)
    params = [torch.randn(h, d, generator=gen) * 0.5, torch.randn(h, generator=gen) * 0.1,
              torch.randn(c, h, generator=gen) * 0.5, torch.randn(c, generator=gen) * 0.1]
    return x, t, [p.to(DEVICE) for p in params]


def mlp_reference(x, t, params, order, lr, batch):
    """SGD on σ-linear-cross-entropy in float64 torch, gradients by torch.autograd."""
    P = [f64(p).clone().requires_grad_() for p in params]
    losses = []
    for lo in range(0, len(order), batch):
        idx = order[lo:lo + batch].cpu()
        z = torch.sigmoid(f64(x).cpu()[idx] @ P[0].T + P[1]) @ P[2].T + P[3]
        J = torch.nn.functional.cross_entropy(z, t.cpu()[idx])
        grads = torch.autograd.grad(J, P)
        with torch.no_grad():
            for w, g in zip(P, grads):
                w -= lr * g
        losses.append(float(J.detach()))
    return torch.tensor(losses, dtype=torch.float64), [p.detach() for p in P]


def strided_copy(x, kind):
    """x (1-D or 2-D) as a view of the given kind holding the same values."""
    if kind == "offset":
        base = torch.cat([torch.zeros_like(x[:3]), x])
        return base[3:]
    if kind == "strided rows":
        base = torch.stack([x, torch.zeros_like(x)], 1)  # x at every other row
        return base.reshape(2 * x.shape[0], *x.shape[1:])[::2] if x.dim() == 1 else base[:, 0]
    if kind == "transposed":
        return x.T.contiguous().T if x.dim() == 2 else x
    if kind == "row-sliced":
        return torch.cat([x, torch.zeros_like(x[:, :2])], 1)[:, :x.shape[1]] if x.dim() == 2 else x
    return x


@pytest.mark.parametrize("kind", ["offset", "strided rows", "transposed", "row-sliced"])
@pytest.mark.parametrize("batch", [8, 4])  # one step split over programs; an epoch in one program
def test_fused_mlp_on_views(guarded, kind, batch):
    x, t, params = mlp_data()
    order = torch.tensor([3, 1, 7, 0, 2, 6, 5, 4], device=DEVICE)
    want_losses, want = mlp_reference(x, t, params, order, 0.5, batch)
    mlp = guarded("mlp_train")
    p = [w.clone() for w in params]
    losses = mlp.mlp_sigmoid_linear_ce(strided_copy(x, kind), strided_copy(t, kind), *p,
                                       strided_copy(order, kind), 0.5, batch)
    close(losses, want_losses, rtol=1e-5, atol=1e-6)
    for w, ref in zip(p, want):
        close(w, ref, rtol=1e-5, atol=1e-6)


def test_fused_mlp_with_expanded_data():
    """An expanded x (every example the same), t and order: copied, then as if contiguous."""
    x, t, params = mlp_data()
    xe, te = x[:1].expand(8, -1), t[:1].expand(8)
    order = torch.zeros(1, dtype=torch.int64, device=DEVICE).expand(8)
    want_losses, want = mlp_reference(xe.contiguous(), te.contiguous(), params, order.contiguous(), 0.5, 4)
    mlp = load_kernel("mlp_train", "triton")
    p = [w.clone() for w in params]
    close(mlp.mlp_sigmoid_linear_ce(xe, te, *p, order, 0.5, 4), want_losses, rtol=1e-5, atol=1e-6)
    for w, ref in zip(p, want):
        close(w, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [8, 1 << 40, -1])
@pytest.mark.parametrize("batch", [8, 4])
def test_fused_mlp_order_index_out_of_range_with_check_false(bad, batch):
    """check=False: an index outside [0, N_data) is never followed; its step's loss is NaN and that
    step is not applied, nor any after it; the steps before it are."""
    x, t, params = mlp_data()
    order = torch.tensor([3, 1, 7, 0, 2, bad, 5, 4], device=DEVICE)
    mlp = load_kernel("mlp_train", "triton")
    p = [w.clone() for w in params]
    losses = mlp.mlp_sigmoid_linear_ce(x, t, *p, order, 0.5, batch, check=False)
    if batch == 8:
        assert torch.isnan(losses).all()
        want = params
    else:
        want_losses, want = mlp_reference(x, t, params, order[:4], 0.5, 4)
        close(losses[0], want_losses[0], rtol=1e-5, atol=1e-6)
        assert torch.isnan(losses[1])
    for w, ref in zip(p, want):
        close(w, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [2, -1, 1 << 33])
def test_fused_mlp_class_out_of_range_with_check_false(bad):
    x, t, params = mlp_data()
    t[6] = bad
    order = torch.arange(8, device=DEVICE)
    mlp = load_kernel("mlp_train", "triton")
    p = [w.clone() for w in params]
    losses = mlp.mlp_sigmoid_linear_ce(x, t, *p, order, 0.5, 4, check=False)
    want_losses, want = mlp_reference(x, t, params, order[:4], 0.5, 4)
    close(losses[0], want_losses[0], rtol=1e-5, atol=1e-6)
    assert torch.isnan(losses[1])
    for w, ref in zip(p, want):
        close(w, ref, rtol=1e-5, atol=1e-6)


def test_fused_mlp_order_without_examples_is_refused_even_with_check_false():
    x, t, params = mlp_data()
    mlp = load_kernel("mlp_train", "triton")
    with pytest.raises(IndexError, match="no examples"):
        mlp.mlp_sigmoid_linear_ce(x[:0], t[:0], *params, torch.zeros(2, dtype=torch.int64, device=DEVICE), 0.5, 2,
                                  check=False)


def elman_data(seed=0, n=4, T=3, D=2, H=4, C=3):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, T, D, generator=gen).to(DEVICE)
    r = torch.randint(0, C, (n, T), generator=gen).to(DEVICE)
    W = [(torch.randn(*s, generator=gen) * 0.5).to(DEVICE) for s in ((H, D), (H, H), (C, H))]
    return x, r, W


def test_fused_elman_bad_indices_with_check_false():
    """An order index or a scored class out of range: the step is NaN and not applied."""
    elman = load_kernel("elman_train", "triton")
    x, r, W = elman_data()
    good = [w.clone() for w in W]
    losses = elman.elman_sigmoid_ce(x, r, *good, torch.arange(4, device=DEVICE), 0.1, 2, 1)
    assert torch.isfinite(losses).all()
    for order, rr in ((torch.tensor([0, 1, 9, 3], device=DEVICE), r),
                      (torch.tensor([0, 1, -5, 3], device=DEVICE), r),
                      (torch.arange(4, device=DEVICE), r.clone().index_put_((torch.tensor([2]), torch.tensor([2])),
                                                                           torch.tensor(7)))):
        p = [w.clone() for w in W]
        losses = elman.elman_sigmoid_ce(x, rr, *p, order, 0.1, 2, 1, check=False)
        assert torch.isfinite(losses[0]) and torch.isnan(losses[1])
        first = [w.clone() for w in W]
        elman.elman_sigmoid_ce(x, r, *first, order[:2], 0.1, 2, 1)
        for w, ref in zip(p, first):
            close(w, ref, rtol=0, atol=0)
    # a class out of range at a time step that is not scored (t ≤ delay) is never used
    rr = r.clone()
    rr[:, 0] = 99
    unscored = elman.elman_sigmoid_ce(x, rr, *[w.clone() for w in W], torch.arange(4, device=DEVICE), 0.1, 2, 1,
                                      check=False)
    scored = elman.elman_sigmoid_ce(x, r, *[w.clone() for w in W], torch.arange(4, device=DEVICE), 0.1, 2, 1)
    assert torch.isfinite(unscored).all()
    close(unscored, scored, rtol=0, atol=0)


def test_fused_elman_on_views():
    elman = load_kernel("elman_train", "triton")
    x, r, W = elman_data()
    order = torch.tensor([2, 0, 3, 1], device=DEVICE)
    want = [w.clone() for w in W]
    want_losses = elman.elman_sigmoid_ce(x, r, *want, order, 0.1, 2, 1)
    xv = torch.cat([torch.zeros_like(x[:1]), x]).transpose(0, 1).contiguous().transpose(0, 1)[1:]  # offset, permuted
    rv = torch.stack([r, torch.zeros_like(r)], 0)[0]
    ov = torch.stack([order, order], 1)[:, 1]
    p = [w.clone() for w in W]
    close(elman.elman_sigmoid_ce(xv, rv, *p, ov, 0.1, 2, 1), want_losses, rtol=0, atol=0)
    for w, ref in zip(p, want):
        close(w, ref, rtol=0, atol=0)


def test_fused_parameters_that_are_views_are_refused():
    x, t, params = mlp_data()
    mlp = load_kernel("mlp_train", "triton")
    W1 = torch.zeros(3, 4, device=DEVICE).T
    with pytest.raises(ValueError, match="'W1' must be contiguous"):
        mlp.mlp_sigmoid_linear_ce(x, t, W1, *params[1:], torch.arange(8, device=DEVICE), 0.5, 4)


def test_compiled_step_bounds_the_order_too(tmp_path, monkeypatch):
    """A network compiled by compile_step (MSE: no classes) comes from the same emitter: a stray
    order index with check=False makes its step NaN and unapplied, and is never followed."""
    import symnet
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path))
    step = symnet.compile_step(("tanh", "linear"), "mse")
    gen = torch.Generator().manual_seed(3)
    x, t = torch.randn(6, 3, generator=gen).to(DEVICE), torch.randn(6, 2, generator=gen).to(DEVICE)
    params = [(torch.randn(*s, generator=gen) * 0.5).to(DEVICE) for s in ((4, 3), (4,), (2, 4), (2,))]
    order = torch.tensor([0, 1, 2, 6, 4, 5], device=DEVICE)
    p = [w.clone() for w in params]
    losses = step(x, t, *p, order, 0.1, 3, check=False)
    first = [w.clone() for w in params]
    want = step(x, t, *first, order[:3], 0.1, 3)
    close(losses[0], want[0], rtol=0, atol=0)
    assert torch.isnan(losses[1])
    for w, ref in zip(p, first):
        close(w, ref, rtol=0, atol=0)
