"""symnet.torch, issue 18 leftovers: cross-entropy with options as a registered op (training under
torch.compile(fullgraph=True) equals eager and torch's float64 cross_entropy, opcheck), vmap rules
for every op (against a Python loop), Triton kernels visible to Inductor (torch.library.triton_op
on a GPU; the launch path checked here under Triton's interpreter), bf16 linear. Tiny shapes."""
from __future__ import annotations

import os

import pytest
from conftest import pairwise, torch_and_triton

torch, _ = torch_and_triton()

from symnet.torch import _ops  # noqa: E402
from symnet.torch import functional as SF  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
F = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
OPS = torch.ops.symnet_torch


def _data(seed=0, n=5, c=4, soft=False):
    g = torch.Generator().manual_seed(seed)
    z = (torch.randn(n, c, generator=g, dtype=torch.float64) * 2).to(DEVICE)
    if soft:
        t = torch.softmax(torch.randn(n, c, generator=g, dtype=torch.float64), -1).to(DEVICE)
    else:
        t = torch.randint(0, c, (n,), generator=g).to(DEVICE)
        t[1] = -100  # one ignored row
    w = (torch.rand(c, generator=g, dtype=torch.float64) + 0.5).to(DEVICE)
    return z, t, w


def _reference(z, t, kw):
    """torch's cross_entropy, with Gemma's softcap and PaLM's z-loss written out by hand."""
    kw = dict(kw)
    cap, lam, reduction = kw.pop("softcap", None), kw.pop("z_loss_scale", 0.0), kw.pop("reduction", "mean")
    c = cap * torch.tanh(z / cap) if cap is not None else z
    if not lam:
        return F.cross_entropy(c, t, reduction=reduction, **kw)
    # an ignored row counts for nothing (no z-loss either); the mean divides by Σ weight[target]
    kept = (t != -100).to(z.dtype)
    rows = F.cross_entropy(c, t, reduction="none", **kw) + lam * torch.logsumexp(c, -1) ** 2 * kept
    w = kw.get("weight")
    divisor = (w[t.clamp(min=0)] * kept).sum() if w is not None else kept.sum()
    return rows.sum() / divisor if reduction == "mean" else rows.sum() if reduction == "sum" else rows


OPTIONS = {
    "weight": dict(weight=True),
    "label_smoothing": dict(label_smoothing=0.2),
    "weight+smoothing+sum": dict(weight=True, label_smoothing=0.1, reduction="sum"),
    "soft": dict(soft=True),
    "soft+weight+smoothing": dict(soft=True, weight=True, label_smoothing=0.1),
    "softcap": dict(softcap=3.0),
    "z_loss": dict(z_loss_scale=1e-2),
    "all+none": dict(weight=True, label_smoothing=0.1, softcap=2.0, z_loss_scale=1e-3, reduction="none"),
}


def _case(name):
    """Logits of 3 rows (one ignored), targets and options of a case: each float64 row a program of the double-word
    helpers under Triton's interpreter (~0.2 s of CPU a launch)."""
    kw = dict(OPTIONS[name])
    soft = kw.pop("soft", False)
    z, t, w = _data(soft=soft, n=3)
    if kw.pop("weight", False):
        kw["weight"] = w
    return z, t, kw


# --- point 1: cross-entropy with options traces under torch.compile(fullgraph=True) --------------

@pytest.mark.parametrize("name", list(OPTIONS))
def test_compiled_training_with_options_equals_eager_and_torch(name):
    """Two SGD steps of a linear model under torch.compile(fullgraph=True, backend="aot_eager") equal the same
    steps in eager mode and with torch.nn.functional.cross_entropy (float64): the second step runs the compiled graph
    again on the weights the first updated. (Three steps of 5 rows took 10-13 s a case in CI.)"""
    torch._dynamo.reset()
    z0, t, kw = _case(name)
    x = torch.linspace(-1, 1, z0.shape[0] * 3, dtype=torch.float64, device=DEVICE).reshape(-1, 3)

    def train(loss_fn, compiled):
        W = (torch.arange(3 * z0.shape[1], dtype=torch.float64, device=DEVICE).reshape(-1, 3) / 7).requires_grad_()

        def step():
            out = loss_fn(x @ W.T, t, **kw)
            return out.sum() if out.dim() else out

        run = torch.compile(step, fullgraph=True, backend="aot_eager") if compiled else step
        losses = []
        for _ in range(2):
            loss = run()
            (g,) = torch.autograd.grad(loss, W)
            with torch.no_grad():
                W -= 0.5 * g
            losses.append(loss.detach())
        return torch.stack(losses), W.detach()

    compiled, W_c = train(SF.cross_entropy, True)
    eager, W_e = train(SF.cross_entropy, False)
    ref, W_r = train(lambda z, t, **kw: _reference(z, t, kw), False)
    torch.testing.assert_close(compiled, ref, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(eager, ref, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(W_c, W_r, rtol=1e-12, atol=1e-13)


def test_compiled_options_path_still_refuses_a_bad_class():
    """The host class check runs in the op's implementation: compiled code raises as eager does."""
    torch._dynamo.reset()
    z, t, w = _data()
    t[2] = 9
    run = torch.compile(lambda z: SF.cross_entropy(z, t, weight=w), fullgraph=True, backend="aot_eager")
    with pytest.raises(IndexError, match="class index 9 in target is outside \\[0, 4\\)"):
        run(z)


@pytest.mark.parametrize("soft", [False, True])
def test_opcheck_options_op(soft):
    """torch.library.opcheck (schema, autograd registration, fake tensor, aot dispatch) of the options op in
    float32: what it checks is the registration, the same in every dtype; float32 rows launch the kernel without the
    double-word float64 helpers (each opcheck calls the op a dozen times; float64 took 20 s of CPU a case in CI
    under the interpreter). Its float64 values are compared with torch's above."""
    z, t, w = (a.float() if a.is_floating_point() else a for a in _data(soft=soft))
    for args in ((z.requires_grad_(), t, w, -100, "mean", 0.1, 2.0, 1e-3), (z, t, None, -100, "none", 0.0, None, 0.0)):
        torch.library.opcheck(OPS.cross_entropy_options.default, args)


# --- point 3: vmap ----------------------------------------------------------------------------------

def _batched(seed=1, b=2, n=3, c=5, soft=False):
    """b batch entries of n rows (entry 0's row 1 ignored) of c classes: each float64 row a program of the
    double-word helpers under the interpreter (b = 3 of 4 rows took 7-11 s a vmap case in CI)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(b, n, c, generator=g, dtype=torch.float64).to(DEVICE)
    if soft:
        t = torch.softmax(torch.randn(b, n, c, generator=g, dtype=torch.float64), -1).to(DEVICE)
    else:
        t = torch.randint(0, c, (b, n), generator=g).to(DEVICE)
        t[0, 1] = -100
    w = (torch.rand(c, generator=g, dtype=torch.float64) + 0.5).to(DEVICE)
    return z, t, w


# every pair of (op, reduction, soft target) levels once: 6 of the 12 cases (each ~13 float64 launches under the
# interpreter, 22-27 s in CI)
VMAP_CASES = pairwise((["symnet_torch::cross_entropy_options", "symnet::cross_entropy"], ["none", "mean", "sum"],
                       [False, True]))


@pytest.mark.parametrize("op_name, reduction, soft", VMAP_CASES, ids=["-".join(map(str, c)) for c in VMAP_CASES])
def test_vmap_of_cross_entropy_ops_equals_a_loop(op_name, reduction, soft):
    """torch.vmap over a batch dimension of logits and targets equals a loop over that dimension;
    checked against torch's cross_entropy too (loss and ∂C/∂z)."""
    _ops.register_generated_vmap()
    ns, name = op_name.split("::")
    op = getattr(getattr(torch.ops, ns), name).default
    z, t, w = _batched(soft=soft)

    def call(z, t):
        return op(z, t, w, -100, reduction, 0.1, None, 0.0)

    loss, dz = torch.vmap(call)(z, t)
    for i in range(len(z)):
        li, dzi = call(z[i], t[i])
        torch.testing.assert_close(loss[i], li, rtol=1e-13, atol=1e-14)
        torch.testing.assert_close(dz[i], dzi, rtol=1e-13, atol=1e-14)
        zi = z[i].clone().requires_grad_()
        ref = F.cross_entropy(zi, t[i], weight=w, reduction=reduction, label_smoothing=0.1)
        (gz,) = torch.autograd.grad(ref.sum(), zi)
        torch.testing.assert_close(loss[i], ref.detach(), rtol=1e-12, atol=1e-13)
        torch.testing.assert_close(dz[i], gz, rtol=1e-12, atol=1e-13)
    # in_dims other than 0, and a batched weight (one call per entry)
    loss1, _ = torch.vmap(call, in_dims=(1, 1 if not soft else 1))(z.movedim(0, 1), t.movedim(0, 1))
    torch.testing.assert_close(loss1, loss, rtol=1e-13, atol=1e-14)
    ws = torch.stack([w * 2, w + 1])
    lw, _ = torch.vmap(lambda z, t, w: op(z, t, w, -100, reduction, 0.0, None, 0.0))(z, t, ws)
    for i in range(len(z)):
        torch.testing.assert_close(lw[i], op(z[i], t[i], ws[i], -100, reduction, 0.0, None, 0.0)[0],
                                   rtol=1e-13, atol=1e-14)


def test_vmap_of_functional_cross_entropy_with_options():
    """vmap of the functional (weight + label smoothing), each entry against torch. (torch.func.grad
    through a torch.library custom op is refused by torch itself: autograd goes through .backward.)"""
    z, t, w = _batched()
    got = torch.vmap(lambda z, t: SF.cross_entropy(z, t, weight=w, label_smoothing=0.2))(z, t)
    for i in range(len(z)):
        ref = F.cross_entropy(z[i], t[i], weight=w, label_smoothing=0.2)
        torch.testing.assert_close(got[i], ref, rtol=1e-12, atol=1e-13)


def test_every_symnet_torch_op_has_a_vmap_rule():
    """Every op of the symnet_torch namespace (forward and backward) has a vmap rule registered."""
    SF.cross_entropy  # noqa: B018  (the functional module registered the registry ops)
    names = [n for n in dir(OPS) if not n.startswith("_") and isinstance(getattr(OPS, n), torch._ops.OpOverloadPacket)]
    assert "cross_entropy_options" in names and "dense_backward" in names
    missing = [n for n in names
               if not torch._C._dispatch_has_kernel_for_dispatch_key(f"symnet_torch::{n}", "FuncTorchBatched")]
    assert missing == []


# --- point 2: the elementwise Triton launches visible to Inductor (torch.library.triton_op) ----------

POINTWISE = {  # registry op, its parameters, torch's function of (x, t)
    "sigmoid": ((), lambda x, t: torch.sigmoid(x)),
    "gelu": ((), lambda x, t: F.gelu(x)),
    "leaky_relu": ((0.2,), lambda x, t: F.leaky_relu(x, 0.2)),
    "huber": ((1.0,), lambda x, t: F.huber_loss(x, t, reduction="none")),
    "bce_logits": ((), lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none")),
}


def _xt(seed=4, shape=(3, 5)):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64).to(DEVICE) * 2
    t = torch.rand(*shape, generator=g, dtype=torch.float64).to(DEVICE)
    return x, t


def _visible(name, build=None):
    """The registry op ``name`` registered once more through torch.library.triton_op (as on a GPU)."""
    base = _ops._POINTWISE[name]
    return (_ops._POINTWISE.get(f"visible_{name}")
            or _ops.Pointwise(f"visible_{name}", base.inputs, build or base._build, visible=True))


@pytest.mark.parametrize("name", list(POINTWISE))
def test_triton_op_registered_ops_equal_torch_with_autograd_and_vmap(name):
    """Ops registered through torch.library.triton_op (as on a GPU) run eagerly under the
    interpreter (wrap_triton hands back the kernel there), equal torch's values and gradients of
    every input in float64, and have vmap rules."""
    params, reference = POINTWISE[name]
    op = _visible(name)
    schema = str(getattr(OPS, f"visible_{name}").default._schema)
    assert schema == (f"symnet_torch::visible_{name}(" + ", ".join(f"Tensor {n}" for n in op.inputs)
                      + ", float[] params) -> Tensor[]")
    x, t = _xt()
    ins = [a.clone().requires_grad_() for a in (x, t)[:len(op.inputs)]]
    out = op.op(*ins, list(params))[0]
    got = torch.autograd.grad((out * out).sum(), ins)
    refs = [a.clone().requires_grad_() for a in (x, t)[:len(op.inputs)]]
    ref = reference(*refs, *([t] if len(refs) == 1 else []))
    want = torch.autograd.grad((ref * ref).sum(), refs)
    torch.testing.assert_close(out.detach(), ref.detach(), rtol=1e-12, atol=1e-14)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-14)
    batched = torch.vmap(lambda *a: op.op(*a, list(params))[0])(*(x, t)[:len(op.inputs)])
    torch.testing.assert_close(batched, ref.detach(), rtol=1e-12, atol=1e-14)


def _jit_module(source, path):
    """A generated module loaded again with Triton's JIT (not its interpreter): kernels that
    wrap_triton can trace. Nothing is launched from it (there is no GPU here)."""
    import importlib.util
    path.write_text(source)
    old = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "0"
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if old is None:
            del os.environ["TRITON_INTERPRET"]
        else:
            os.environ["TRITON_INTERPRET"] = old
    return module


def _compiled_copy(compiled, tmp_path):
    import types
    module = _jit_module(compiled.source, tmp_path / f"jit_{compiled.kernel.name}.py")
    return types.SimpleNamespace(module=module, kernel=compiled.kernel, inputs=compiled.inputs,
                                 outputs=compiled.outputs)


def test_traced_triton_op_shows_the_kernel_to_inductor(tmp_path):
    """What AOTAutograd hands Inductor for a triton_op-registered op (functionalized make_fx trace):
    the generated Triton kernel itself (triton_kernel_wrapper_functional), with the launch's
    arguments, not an opaque call. Under the interpreter kernels cannot be traced, so the module
    is loaded once more with Triton's JIT; nothing is launched."""
    from torch._subclasses.functional_tensor import dispatch_functionalize
    from torch.fx.experimental.proxy_tensor import make_fx

    jit = _compiled_copy(_ops._POINTWISE["huber"].kernel((1.0,)), tmp_path)
    name = "traced_huber"
    op = _ops._POINTWISE.get(name) or _ops.Pointwise(name, ("x", "t"), lambda params: jit, visible=True)
    x, t = _xt()
    gm = make_fx(dispatch_functionalize(lambda x, t: op.op(x, t, [1.0])[0] * 2), tracing_mode="fake")(x, t)
    code = gm.code
    assert code.count("triton_kernel_wrapper_functional(") == 1 and f"symnet_torch.{name}" not in code
    for arg in ("'t_ptr': arg1_1", "'x_ptr': arg0_1", "'f_ptr'", "'df_dx_ptr'", "'df_dt_ptr'", "'WRITE_VALUE': True",
                "'REDUCE': False", "'F64': True", f"'n': {x.numel()}"):
        assert arg in code, arg
    # the interpreter's ops stay opaque custom ops (fake kernel; Inductor calls them as they are)
    assert _ops.inductor_visible() is (os.environ.get("TRITON_INTERPRET") != "1"
                                       and os.environ.get("SYMNET_TORCH_OPAQUE") != "1")


def _ce_visible(name, module_of):
    if name not in dir(OPS):
        (_ops._ce_options_op if "options" in name else _ops._ce_op)(name, module_of, True)
    return getattr(OPS, name).default


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_triton_op_registered_cross_entropy_equals_torch(reduction):
    """Both cross-entropy ops registered through torch.library.triton_op (as on a GPU) run eagerly
    under the interpreter: loss and gradient equal torch's in float64; a bad class still raises."""
    plain = _ce_visible("visible_cross_entropy", lambda: _ops._kernels("softmax_cross_entropy"))
    options = _ce_visible("visible_cross_entropy_options", lambda: _ops._kernels("cross_entropy"))
    z, t, w = _data()
    for call, kw in ((lambda z: plain(z, t, reduction, -100), {}),
                     (lambda z: options(z, t, w, -100, reduction, 0.1, None, 0.0),
                      dict(weight=w, label_smoothing=0.1))):
        z1, z2 = z.clone().requires_grad_(), z.clone().requires_grad_()
        loss = call(z1)[0]
        ref = F.cross_entropy(z2, t, reduction=reduction, **kw)
        torch.testing.assert_close(loss, ref, rtol=1e-12, atol=1e-14)
        scale = torch.linspace(0.5, 1.5, loss.numel(), dtype=torch.float64).reshape(loss.shape)
        (g1,) = torch.autograd.grad((loss * scale).sum(), z1)
        (g2,) = torch.autograd.grad((ref * scale).sum(), z2)
        torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-14)
    bad = t.clone()
    bad[0] = 4
    with pytest.raises(IndexError, match="class index 4 in target is outside"):
        plain(z, bad, reduction, -100)
    with pytest.raises(IndexError, match="class index 4 in target is outside"):
        options(z, bad, None, -100, reduction, 0.0, None, 0.0)


def test_traced_cross_entropy_triton_ops_show_their_kernels(tmp_path):
    """The functionalized trace of both cross-entropy triton_ops (what Inductor receives): the class
    check as its own op, then the generated kernels as triton_kernel_wrapper_functional nodes."""
    from torch._subclasses.functional_tensor import dispatch_functionalize
    from torch.fx.experimental.proxy_tensor import make_fx

    root = os.path.join(os.path.dirname(__file__), "..", "kernels", "triton")
    sources = {m: open(os.path.join(root, f"{m}.py")).read() for m in ("softmax_cross_entropy", "cross_entropy")}
    jit = {m: _jit_module(src, tmp_path / f"jit_{m}.py") for m, src in sources.items()}
    plain = _ce_visible("traced_cross_entropy", lambda: jit["softmax_cross_entropy"])
    options = _ce_visible("traced_cross_entropy_options", lambda: jit["cross_entropy"])
    z, t, w = _data()
    _, soft, _ = _data(soft=True)
    cases = [(lambda z, t, w: plain(z, t, "mean", -100)[0], t,
              ["_count_rows_kernel", "_softmax_cross_entropy_grad_kernel"]),
             (lambda z, t, w: options(z, t, w, -100, "mean", 0.1, 2.0, 1e-3)[0], t,
              ["_weigh_rows_kernel", "_cross_entropy_grad_kernel"]),
             (lambda z, t, w: options(z, t, w, -100, "sum", 0.1, None, 0.0)[0], soft,
              ["_cross_entropy_soft_grad_kernel"])]
    from torch._higher_order_ops.triton_kernel_wrap import kernel_side_table
    for fn, target, kernels in cases:
        gm = make_fx(dispatch_functionalize(fn), tracing_mode="fake")(z, target, w)
        code = gm.code
        assert code.count("triton_kernel_wrapper_functional(") == len(kernels), code
        assert "symnet_torch.traced_cross_entropy" not in code
        assert ("symnet_torch.checked_classes" in code) is (target is t)
        traced = [kernel_side_table.get_kernel(n.kwargs["kernel_idx"]).fn.__name__ for n in gm.graph.nodes
                  if "triton_kernel_wrapper_functional" in str(n.target)]
        assert traced == kernels


# --- point 5: bf16 linear ----------------------------------------------------------------------------

def test_bf16_linear_rounds_once_from_float32_as_torch_on_a_gpu():
    """Why bf16 linear was up to 1 ulp off torch: the kernel accumulates a·Wᵀ + b in float32 and
    rounds once to bf16 (torch: the same sum, rounded to nearest). Triton's interpreter converts
    float32 to bfloat16 by truncation (triton/runtime/interpreter.py, cast_impl: no rounding
    mode), a GPU rounds to nearest even. So: under the interpreter the result is exactly the
    float32 sum truncated (≤ 1 ulp from torch); on a GPU it is torch's."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 40, generator=g).bfloat16().to(DEVICE)
    W = torch.randn(24, 40, generator=g).bfloat16().to(DEVICE)
    b = torch.randn(24, generator=g).bfloat16().to(DEVICE)
    ours = SF.linear(x, W, b)
    exact = x.double() @ W.double().T + b.double()  # (its float32 rounding is the kernel's float32 sum here)
    nearest = exact.bfloat16()
    assert torch.equal(F.linear(x, W, b), nearest)
    if os.environ.get("TRITON_INTERPRET") == "1":
        bits = exact.float().view(torch.int32) & ~0xFFFF
        truncated = bits.view(torch.float32).bfloat16()
        assert torch.equal(ours, truncated)
        ulp = (nearest.float().abs() * 2.0 ** -7).clamp(min=2.0 ** -126)
        assert ((ours.float() - nearest.float()).abs() <= ulp).all()
    else:
        assert torch.equal(ours, nearest)


# --- point 4: the fused Elman step with momentum and Adam (derived update rules) ----------------------

def _torch_elman_steps(p, x, r, delay, order, batch, name, hyper, lr, steps):
    """torch.optim over a float64 loop of the same network: h^t = σ(W^i x^t + W^h h^(t−1)),
    z^t = W^o h^t, the mean cross-entropy over the scored steps t > delay."""
    P = {k: v.clone().double().requires_grad_() for k, v in p.items()}
    params = [P["Wi"], P["Wh"], P["Wo"]]
    if name == "adam":
        opt = torch.optim.Adam(params, lr=lr, betas=(hyper["beta1"], hyper["beta2"]), eps=hyper["eps"],
                               weight_decay=hyper["weight_decay"])
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=hyper.get("momentum", 0.0), weight_decay=hyper["weight_decay"])
    losses = []
    for s in range(steps):
        idx = order[s * batch:(s + 1) * batch]
        xb, rb = x[idx].double(), r[idx]
        h = torch.zeros(len(idx), P["Wh"].shape[0], dtype=torch.float64)
        total, T = 0.0, xb.shape[1]
        for t in range(T):
            h = torch.sigmoid(xb[:, t] @ P["Wi"].T + h @ P["Wh"].T)
            if t + 1 > delay:
                total = total + F.cross_entropy(h @ P["Wo"].T, rb[:, t], reduction="sum")
        loss = total / (len(idx) * (T - delay))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return torch.tensor(losses, dtype=torch.float64), {k: v.detach() for k, v in P.items()}


ELMAN_RULES = {"momentum": dict(momentum=0.9, weight_decay=0.01),
               "adam": dict(beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.01)}


@pytest.mark.parametrize("name", list(ELMAN_RULES))
def test_fused_elman_step_with_momentum_and_adam_equals_torch_optim(name):
    """Three steps in one launch (epoch mode), then one step over 40 sequences split over two
    programs in each of two launches (step0 carries Adam's bias corrections on): losses and weights equal
    torch.optim.SGD(momentum)/Adam over a float64 torch loop."""
    from symnet.codegen.compiler import compile_elman_step
    from symnet.codegen.families.update_rules import update_rule

    hyper = ELMAN_RULES[name]
    f = compile_elman_step(name)
    per = len(update_rule(name).state)
    g = torch.Generator().manual_seed(0)
    N, T, D, H, C, delay = 40, 3, 3, 4, 3, 1  # 40 sequences in one step: two programs of 32
    x = torch.randn(N, T, D, generator=g)
    r = torch.randint(0, C, (N, T), generator=g)
    p = {"Wi": torch.randn(H, D, generator=g) * .5, "Wh": torch.randn(H, H, generator=g) * .5,
         "Wo": torch.randn(C, H, generator=g) * .5}
    for order, batch, launches in ((torch.tensor([0, 1, 2, 3, 4, 5, 2, 5, 1]), 3, 1),
                                   (torch.randperm(N, generator=g), N, 2)):
        P = {k: v.clone().to(DEVICE) for k, v in p.items()}
        state = [torch.zeros_like(P[k]) for k in ("Wi", "Wh", "Wo") for _ in range(per)]
        got = torch.cat([f(x.to(DEVICE), r.to(DEVICE), P["Wi"], P["Wh"], P["Wo"], order.to(DEVICE), 0.1, batch, delay,
                           state=state, step0=i * (len(order) // batch), **hyper).cpu() for i in range(launches)])
        steps = launches * -(-len(order) // batch)
        want, Q = _torch_elman_steps(p, x, r, delay, order.repeat(launches), batch, name, hyper, 0.1, steps)
        torch.testing.assert_close(got.double(), want, rtol=2e-6, atol=1e-7)
        for k in P:
            torch.testing.assert_close(P[k].cpu().double(), Q[k], rtol=1e-5, atol=1e-6)
        assert float(state[-1].abs().sum()) > 0  # the state moved, in place


def test_fused_elman_step_refuses_state_of_the_wrong_shape():
    from symnet.codegen.compiler import compile_elman_step
    f = compile_elman_step("momentum")
    x, r = torch.zeros(2, 3, 3), torch.zeros(2, 3, dtype=torch.int64)
    W = [torch.zeros(4, 3), torch.zeros(4, 4), torch.zeros(3, 4)]
    with pytest.raises(ValueError, match="state must list 3 tensors"):
        f(x, r, *W, torch.arange(2), 0.1, 2, 1, state=[], step0=0, momentum=0.9, weight_decay=0.0)
    with pytest.raises(ValueError, match="the state 0 of parameter 1"):
        f(x, r, *W, torch.arange(2), 0.1, 2, 1, state=[torch.zeros(4, 3) for _ in range(3)], step0=0, momentum=0.9,
          weight_decay=0.0)


def test_inductor_compile_on_cpu_under_the_interpreter():
    """One Inductor torch.compile (not aot_eager) of a GELU + weighted, smoothed cross-entropy under
    the interpreter: the ops are opaque there (Inductor calls them); loss and gradient equal torch's."""
    torch._dynamo.reset()
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64).to(DEVICE)
    t = torch.tensor([0, 2, 1, -100], device=DEVICE)
    w = (torch.rand(3, generator=g, dtype=torch.float64) + 0.5).to(DEVICE)
    W = torch.randn(3, 3, generator=g, dtype=torch.float64).to(DEVICE).requires_grad_()

    def f(W):
        return SF.cross_entropy(SF.gelu(x @ W.T), t, weight=w, label_smoothing=0.1)

    loss = torch.compile(f, fullgraph=True, backend="inductor")(W)
    (gW,) = torch.autograd.grad(loss, W)
    W2 = W.detach().clone().requires_grad_()
    ref = F.cross_entropy(F.gelu(x @ W2.T), t, weight=w, label_smoothing=0.1)
    (gR,) = torch.autograd.grad(ref, W2)
    torch.testing.assert_close(loss, ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(gW, gR, rtol=1e-12, atol=1e-14)
