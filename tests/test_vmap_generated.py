"""vmap rules of the committed kernel modules' own ops (``torch.ops.symnet.*``, issue 18 point 2):
every op has one once ``symnet.torch`` is imported, and ``torch.vmap`` of each op equals a Python
loop of the op over the batch dimension and torch's own function in float64 (autograd of it for
the backward ops). Each op: in_dims 0 on every tensor argument, and a mixed case (unbatched
arguments, another batch dimension) that takes the rule's other path (fold vs loop). Tiny sizes,
Triton's interpreter on the CPU."""
from __future__ import annotations

import pytest
from conftest import torch_and_triton

torch, _ = torch_and_triton()

import symnet.torch  # noqa: E402,F401  (registers the rules of each kernel module as it loads)
from symnet.kernels import _committed, load_kernel  # noqa: E402
from symnet.torch import _ops  # noqa: E402

for _module in _committed("triton"):  # every committed module's ops, each with its rules as it loads
    load_kernel(_module, "triton")

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
F = torch.nn.functional
S = torch.ops.symnet
B = 3  # the vmapped batch size
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
TOL = dict(rtol=1e-12, atol=1e-13)


def _g(seed):
    return torch.Generator().manual_seed(seed)


def _rand(*shape, seed=0, scale=1.0, shift=0.0):
    return (torch.randn(*shape, generator=_g(seed), dtype=torch.float64) * scale + shift).to(DEVICE)


def _classes(*shape, c, seed=0, ignored=True):
    t = torch.randint(0, c, shape, generator=_g(seed))
    if ignored:
        t.view(-1)[1] = -100  # one ignored row
    return t.to(DEVICE)


# --- torch references (float64) --------------------------------------------------------------

_POINTWISE = {  # op -> (torch function of its tensor inputs, number of inputs)
    "sigmoid": (torch.sigmoid, 1),
    "log_sigmoid": (F.logsigmoid, 1),
    "softplus": (F.softplus, 1),
    "mse": (lambda a, y: (y - a) ** 2, 2),
    "sigmoid_mse": (lambda z, y: (y - torch.sigmoid(z)) ** 2, 2),
    "bce_logits": (lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="none"), 2),
}


def _pointwise_ref(name):
    fn, _ = _POINTWISE[name]

    def ref(*xs):
        xs = [x.detach().clone().requires_grad_() for x in xs]
        f = fn(*xs)
        (d,) = torch.autograd.grad(f.sum(), xs[0])  # the kernels give ∂f/∂(first input)
        return [f.detach(), d]
    return ref


def _pointwise_backward_ref(name):
    def ref(g, partials, inputs):
        xs = [x.detach().clone().requires_grad_() for x in inputs]
        (d,) = torch.autograd.grad(_POINTWISE[name][0](*xs), xs[0], g)
        return [d]
    return ref


def _layer(name):
    return {"linear": lambda a, W, b: F.linear(a, W, b),
            "dense_sigmoid": lambda a, W, b: torch.sigmoid(F.linear(a, W, b)),
            "rnn_step": lambda x, hp, Wi, Wh: torch.sigmoid(x @ Wi.T + hp @ Wh.T)}[name]


def _layer_backward_ref(name):
    def ref(*args):
        if name == "rnn_step":
            x, hp, Wi, Wh, _, g = args
            wrt = [Wi, Wh, hp]
            ins = [x, hp, Wi, Wh]
        else:
            a, W, b, *_, g = args
            wrt = [W, b, a]
            ins = [a, W, b]
        leaves = {id(t): t.detach().clone().requires_grad_() for t in ins}
        out = _layer(name)(*[leaves[id(t)] for t in ins])
        return list(torch.autograd.grad(out, [leaves[id(t)] for t in wrt], g))
    return ref


def _loss_ref(fn):
    def ref(z, *rest):
        z = z.detach().clone().requires_grad_()
        loss = fn(z, *rest)
        (dz,) = torch.autograd.grad(loss.sum(), z)
        return [loss.detach(), dz]
    return ref


# --- the cases: op -> list of (args with a batch dimension, in_dims, torch reference per entry) ----

def _cases():
    cases = {}
    for name, (_, n) in _POINTWISE.items():
        xs = [_rand(B, 2, 3, seed=i, scale=2.0) for i in range(n)]
        if name in ("bce_logits", "mse", "sigmoid_mse") and n == 2:
            xs[1] = torch.rand(B, 2, 3, generator=_g(7), dtype=torch.float64).to(DEVICE)
        ref = _pointwise_ref(name)
        mixed = [0] + [None] * (n - 1) if n > 1 else [1]
        mixed_xs = list(xs[:1]) + [x[0] for x in xs[1:]] if n > 1 else [xs[0].movedim(0, 1)]
        cases[name] = [(xs, [0] * n, ref), (mixed_xs, mixed, ref)]
        g = _rand(B, 2, 3, seed=11)
        parts = [_pointwise_ref(name)(*[x[i] for x in xs])[1] for i in range(B)]
        parts = torch.stack(parts)
        bref = _pointwise_backward_ref(name)
        cases[name + "_backward"] = [
            ([g, [parts], xs], [0, [0], [0] * n], bref),
            ([g, [parts], [x[0] for x in xs]], [0, [0], [None] * n], None),  # inputs unbatched (not read)
        ]
    a, W, b = _rand(B, 4, 3, seed=1), _rand(B, 5, 3, seed=2, scale=0.5), _rand(B, 5, seed=3)
    for name in ("linear", "dense_sigmoid"):
        ref = lambda *args, name=name: _layer(name)(*args)  # noqa: E731
        cases[name] = [([a, W, b], [0, 0, 0], ref),  # batched weights: a loop
                       ([a, W[0], b[0]], [0, None, None], ref)]  # shared weights: folded into the rows
        g = _rand(B, 4, 5, seed=4)
        y = torch.stack([_layer(name)(a[i], W[i], b[i]) for i in range(B)])  # the forward's output
        y0 = _layer(name)(a, W[0], b[0])
        extra, extra0 = ([y], [y0]) if name == "dense_sigmoid" else ([], [])
        cases[name + "_backward"] = [
            ([a, W, b, *extra, g], [0] * (4 + len(extra)), _layer_backward_ref(name)),
            ([a, W[0], b[0], *extra0, g], [0, None, None, *[0] * len(extra), 0], _layer_backward_ref(name))]
    x, hp = _rand(B, 4, 3, seed=5), _rand(B, 4, 2, seed=6)
    Wi, Wh = _rand(B, 2, 3, seed=7, scale=0.5), _rand(B, 2, 2, seed=8, scale=0.5)
    cases["rnn_step"] = [([x, hp, Wi, Wh], [0] * 4, _layer("rnn_step")),
                         ([x, hp[0], Wi[0], Wh[0]], [0, None, None, None], _layer("rnn_step"))]
    h = torch.stack([_layer("rnn_step")(x[i], hp[i], Wi[i], Wh[i]) for i in range(B)])
    g = _rand(B, 4, 2, seed=9)
    h0 = _layer("rnn_step")(x, hp, Wi[0], Wh[0])
    cases["rnn_step_backward"] = [([x, hp, Wi, Wh, h, g], [0] * 6, _layer_backward_ref("rnn_step")),
                                  ([x, hp, Wi[0], Wh[0], h0, g], [0, 0, None, None, 0, 0],
                                   _layer_backward_ref("rnn_step"))]
    z, t = _rand(B, 4, 5, seed=10, scale=2.0), _classes(B, 4, c=5, seed=10)
    logp = torch.log_softmax(z, -1)
    w = (torch.rand(B, 5, generator=_g(12), dtype=torch.float64) + 0.5).to(DEVICE)
    cases["softmax_cross_entropy"] = []
    cases["nll_loss"] = []
    cases["cross_entropy"] = []
    for red in ("none", "mean", "sum"):
        sce = _loss_ref(lambda z, r, red_, ii, red=red: F.cross_entropy(z, r, reduction=red, ignore_index=ii))
        cases["softmax_cross_entropy"] += [([z, t, red, -100], [0, 0, None, None], sce),
                                           ([z.movedim(0, 1), t, red, -100], [1, 0, None, None], sce)]
        nll = _loss_ref(lambda z, r, w, ii, red_, red=red: F.nll_loss(z, r, w, ignore_index=ii, reduction=red))
        cases["nll_loss"] += [([logp, t, w, -100, red], [0, 0, 0, None, None], nll),  # batched weight: a loop
                              ([logp, t, w[0], -100, red], [0, 0, None, None, None], nll)]
        ce = _loss_ref(lambda z, r, w, ii, red_, ls, cap, zl, red=red: F.cross_entropy(
            z, r, w, ignore_index=ii, reduction=red, label_smoothing=ls))
        cases["cross_entropy"] += [([z, t, w, -100, red, 0.1, None, 0.0], [0, 0, 0] + [None] * 5, ce),
                                   ([z, t, w[0], -100, red, 0.1, None, 0.0], [0, 0] + [None] * 6, ce)]
    return cases


CASES = _cases()


def _pick(arg, dim, i):
    if isinstance(arg, (list, tuple)):
        return [_pick(a, d, i) for a, d in zip(arg, dim if isinstance(dim, (list, tuple)) else [dim] * len(arg))]
    if dim is None or not isinstance(arg, torch.Tensor):
        return arg
    return arg.select(dim, i)


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


@pytest.mark.parametrize("name,k", [(n, k) for n, cs in CASES.items() for k in range(len(cs))])
def test_vmap_equals_a_loop_and_torch(name, k):
    """torch.vmap of symnet::<name> equals the op called once per batch entry, and torch's own
    function (float64) on that entry."""
    args, in_dims, ref = CASES[name][k]
    op = getattr(S, name).default
    batched = _as_list(torch.vmap(op, in_dims=tuple(in_dims))(*args))
    for i in range(B):
        entry = [_pick(a, d, i) for a, d in zip(args, in_dims)]
        looped = _as_list(op(*entry))
        assert len(batched) == len(looped)
        for got, want in zip(batched, looped):
            torch.testing.assert_close(got[i], want, **TOL)
        if ref is not None:
            for got, want in zip(batched, _as_list(ref(*entry)), strict=True):
                torch.testing.assert_close(got[i], want, **TOL)


def test_every_generated_op_has_a_vmap_rule():
    """Every op the committed kernel modules define (all loaded above, after symnet.torch) has a
    FuncTorchBatched kernel (a vmap rule) and a case above: a new op without either fails here."""
    names = sorted(torch.ops.symnet)  # and the dense layers other tests generated at run time
    assert {"linear", "rnn_step", "cross_entropy", "mse_backward"} <= set(names)
    missing = [n for n in names if not torch._C._dispatch_has_kernel_for_dispatch_key(f"symnet::{n}",
                                                                                        "FuncTorchBatched")]
    assert not missing, f"symnet:: ops without a vmap rule: {missing}"
    committed = set(_ops.generated_vmap_ops())
    assert committed <= set(CASES), f"no vmap test case for {sorted(committed - set(CASES))}"
    assert sorted(_ops.register_generated_vmap()) == sorted(f"symnet::{n}" for n in names)


def test_a_dense_layer_generated_at_run_time_gets_its_vmap_rules(tmp_path, monkeypatch):
    """symnet.compile's dense layers of any registry activation (dense_relu, dense_relu_backward)
    get the dense layer's vmap rules when their module loads: vmap of forward and gradient equals
    a loop and torch's float64 autograd."""
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path))
    from symnet.codegen.backends.triton.dense import emit_triton_layer_module
    from symnet.codegen.compiler import _load_module
    from symnet.codegen.families.dense import dense_layer_kernels

    module = _load_module("dense_softsign_vmap_test",
                          emit_triton_layer_module([*dense_layer_kernels("softsign")], "a test", "-"))
    for name in ("dense_softsign", "dense_softsign_backward"):
        assert torch._C._dispatch_has_kernel_for_dispatch_key(f"symnet::{name}", "FuncTorchBatched")
    layer = module.dense_softsign_layer
    a = _rand(B, 4, 5, seed=11)
    W, b = _rand(3, 5, seed=12), _rand(3, seed=13)
    got = torch.vmap(layer, in_dims=(0, None, None))(a, W, b)
    want = torch.nn.functional.softsign(a @ W.T + b)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got, torch.stack([layer(a[i], W, b) for i in range(B)]), rtol=1e-12, atol=1e-12)
    W1 = W.clone().requires_grad_()
    g = torch.autograd.grad(torch.vmap(layer, in_dims=(0, None, None))(a, W1, b).sum(), W1)[0]
    W2 = W.clone().requires_grad_()
    g_ref = torch.autograd.grad(torch.nn.functional.softsign(a @ W2.T + b).sum(), W2)[0]
    torch.testing.assert_close(g, g_ref, rtol=1e-12, atol=1e-12)


def test_a_folded_mean_would_be_wrong():
    """The 'mean' losses are one call per batch entry: the vmapped mean differs from the mean over
    all rows of the batch (what folding the vmapped dimension into the rows would give)."""
    z, t = _rand(B, 4, 5, seed=3), _classes(B, 4, c=5, seed=3)
    t[0, :3] = -100  # entry 0 counts one row: its mean divides by 1, the batch's by 9
    loss, _ = torch.vmap(S.softmax_cross_entropy.default, in_dims=(0, 0, None, None))(z, t, "mean", -100)
    each = torch.stack([F.cross_entropy(z[i], t[i]) for i in range(B)])
    torch.testing.assert_close(loss, each, **TOL)
    assert not torch.allclose(loss, F.cross_entropy(z.reshape(-1, 5), t.reshape(-1)).expand(B))
