"""``symnet verify --backend triton``: every Triton kernel against its formula in mpmath.

The same references as the NumPy checks (``check.py``): each output at random and
extreme points against the formula at 50 digits, in float64, float32 and bfloat16, and
each gradient against ``torch.autograd`` of the formula written out in torch (float64).
On a machine without a GPU the kernels run under ``TRITON_INTERPRET=1``.

Bounds: float64 and float32 as for NumPy (16 ulps of the size of the terms) where the
kernels run under the interpreter; on a GPU, Triton evaluates ``tl.exp`` as
``ex2.approx(x·log2 e)``, whose relative error grows like |x|·2⁻²⁴, so float32 is held
to 16 + |x| ulps there. bfloat16 inputs are compared at the bfloat16-rounded point, in
units of bfloat16's last place (8 bits): ≤ 2 ulps (the output's rounding, and float32
arithmetic far below it); results under 2⁻¹²⁰ count in absolute terms of that size.
"""
from __future__ import annotations

import importlib.util
import math
import os
import sys
from pathlib import Path

import mpmath
import numpy as np
import sympy as sp

from ..errors import SymnetError
from ..functions import explicit
from ..codegen.blocks import BLOCKS
from .kernels import DIGITS, ULP_BOUND, Result, _magnitude, _mp, _points, _row_logits, _ulps, worst_row_error
from ..codegen.rewrite import stabilise

__all__ = ["verify_triton", "load_triton_module"]


def _torch():
    try:
        import torch
        if not torch.cuda.is_available():
            os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton and any kernel are loaded
        import triton  # noqa: F401
    except ImportError:
        raise SymnetError("--backend triton needs torch and triton (pip install torch triton)") from None
    return torch


def load_triton_module(module: str, kernels_dir: str | Path | None):
    """A committed Triton module (``kernels/triton``), or the one emitted afresh."""
    from ..codegen.blocks import triton_sources
    path = Path(kernels_dir) / "triton" / f"{module}.py" if kernels_dir else None
    if path is None or not path.exists():
        import tempfile
        folder = Path(tempfile.mkdtemp(prefix="symnet-verify-"))
        path = folder / f"{module}.py"
        path.write_text(triton_sources()[f"{module}.py"], encoding="utf-8")  # Triton reads source files
    spec = importlib.util.spec_from_file_location(f"symnet_verify_triton_{module}", path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


BF16_MAX = 3.3895313892515355e38


def _bf16_ulps(got: float, want: float, scale: float) -> float:
    """|got − want| in bfloat16 ulps (8 significant bits) of max(|want|, scale, 2⁻¹²⁰): results
    near and below the smallest normal number (2⁻¹²⁶) count in absolute terms, where
    bfloat16 keeps fewer bits. Past bfloat16's range the result must be the infinity of its sign."""
    if abs(want) > BF16_MAX:
        return 0.0 if got == math.copysign(math.inf, want) else math.inf
    if math.isnan(got) or math.isinf(got):
        return math.inf
    size = max(abs(want), scale, 2.0 ** -120)
    return abs(got - want) / 2.0 ** (math.floor(math.log2(size)) - 7)


def verify_triton(kernels_dir: str | Path | None = None, n: int = 40, seed: int = 0) -> list[Result]:
    torch = _torch()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    on_gpu = device == "cuda"
    rng = np.random.default_rng(seed)
    results: list[Result] = []
    for block in BLOCKS:
        kernel = block.kernel()
        module = load_triton_module(block.module, kernels_dir)
        fn = getattr(module, kernel.name)
        variables = [i.symbol for i in kernel.inputs]
        for dtype, tdtype in ((np.float64, torch.float64), (np.float32, torch.float32), (np.float32, torch.bfloat16)):
            args = _points(kernel, dtype, n, rng)
            tensors = [torch.from_numpy(a).to(device=device, dtype=tdtype) for a in args]
            at = [t.double().cpu().numpy() for t in tensors]  # the point the kernel saw
            outs = fn(*tensors)
            name = str(tdtype).removeprefix("torch.")
            for out, spec in zip(outs, kernel.outputs):
                stable, _ = stabilise(spec.expr)
                ref, size = _mp(stable, variables), _mp(_magnitude(stable), variables)
                got_all = out.double().cpu().numpy()
                worst = (0.0, 0.0, "", 0.0)  # rel, ulps, where, ulps / allowed
                with mpmath.workdps(DIGITS):
                    for q in range(len(at[0])):
                        point = [mpmath.mpf(float(a[q])) for a in at]
                        want, scale = float(ref(*point)), float(abs(size(*point)))
                        got = float(got_all[q])
                        if tdtype == torch.bfloat16:
                            ulps, allowed = _bf16_ulps(got, want, scale), 2.0
                        else:
                            ulps, allowed = _ulps(got, want, scale, dtype), float(ULP_BOUND[np.dtype(dtype).name])
                            if on_gpu and dtype == np.float32:  # ex2.approx: error grows with |x|
                                allowed += max(abs(float(a[q])) for a in at)
                        if ulps / allowed > worst[3]:
                            rel = abs(got - want) / abs(want) if want else abs(got)
                            where = ", ".join(f"{i.name}={float(a[q]):.4g}" for i, a in zip(kernel.inputs, at))
                            worst = (rel, ulps, where, ulps / allowed)
                bound = {"bfloat16": "≤ 2 bf16 ulp", "float64": "≤ 16 ulp*"}.get(
                    name, "≤ 16 + |x| ulp*" if on_gpu else "≤ 16 ulp*")
                results.append(Result(f"{block.module}.{spec.name}", "mpmath", name,
                                      worst[0], worst[1], worst[2], bound, worst[3] <= 1.0))
        results += _autograd_checks(block.module, kernel, module, torch, device, rng)
    results += _row_checks(kernels_dir, torch, device, rng)
    results += _layer_checks(kernels_dir, torch, device, rng)
    return results


def _layer_checks(kernels_dir, torch, device, rng) -> list[Result]:
    """The dense and RNN-step kernels, forward and backward, against torch.autograd (float64)."""
    dense, step = load_triton_module("dense", kernels_dir), load_triton_module("rnn_step", kernels_dir)

    def rand(*shape):
        return torch.tensor(rng.normal(0, 1, shape), dtype=torch.float64, device=device)

    a, W, b, g = rand(37, 19), rand(23, 19), rand(23), rand(37, 23)
    x, hp, Wi, Wh, gh = rand(11, 3), rand(11, 17), rand(17, 3), rand(17, 17), rand(11, 17)
    cases = {
        "dense.dense_sigmoid": (lambda a, W, b: torch.sigmoid(a @ W.T + b), (a, W, b), g,
                                lambda: dense.dense_sigmoid(a, W, b),
                                lambda y: dense.dense_sigmoid_backward(a, W, y, g), (1, 2, 0)),
        "dense.linear": (lambda a, W, b: a @ W.T + b, (a, W, b), g, lambda: dense.linear(a, W, b),
                         lambda y: dense.linear_backward(a, W, g), (1, 2, 0)),
        "rnn_step.rnn_step": (lambda x, hp, Wi, Wh: torch.sigmoid(x @ Wi.T + hp @ Wh.T), (x, hp, Wi, Wh), gh,
                              lambda: step.rnn_step(x, hp, Wi, Wh),
                              lambda h: step.rnn_step_backward(x, hp, Wi, Wh, h, gh), (2, 3, 1)),
    }
    results = []
    for name, (formula, args, up, forward, backward, order) in cases.items():
        leaves = [v.clone().requires_grad_(True) for v in args]
        ref = formula(*leaves)
        wanted = torch.autograd.grad(ref, [leaves[q] for q in order], up)
        y = forward()
        worst = float(((y - ref.detach()).abs() / ref.detach().abs().clamp_min(1e-300)).max())
        for got, want in zip(backward(y), wanted):
            worst = max(worst, float(((got - want).abs() / want.abs().clamp_min(1e-12)).max()))
        results.append(Result(name, "torch.autograd", "float64", worst, float("nan"), "",
                              "rel ≤ 1e-10", worst <= 1e-10))
    return results


def _autograd_checks(name, kernel, module, torch, device, rng) -> list[Result]:
    """The custom op's gradient (the kernel's own) against torch.autograd of the formula."""
    value_fn = getattr(module, f"{kernel.name}_value", None)
    if value_fn is None:
        return []
    variables = [i.symbol for i in kernel.inputs]
    value = next(o for o in kernel.outputs if not o.meaning.startswith("∂"))
    formula = sp.lambdify(variables, explicit(value.expr), modules="torch")
    args = [torch.tensor(rng.uniform(-4, 4, 64) if i.role != "target" else rng.uniform(0, 1, 64),
                         dtype=torch.float64, device=device, requires_grad=i.role != "target")
            for i in kernel.inputs]  # a target has no generated gradient: asking for one is an error
    upstream = torch.tensor(rng.normal(0, 1, 64), dtype=torch.float64, device=device)
    wrt = [a for a in args if a.requires_grad]
    ours = iter(torch.autograd.grad((value_fn(*args) * upstream).sum(), wrt, allow_unused=True))
    ref = iter(torch.autograd.grad((formula(*args) * upstream).sum(), wrt, allow_unused=True))
    ours, ref = ([next(it) if a.requires_grad else None for a in args] for it in (ours, ref))
    worst = 0.0
    for a, b, inp in zip(ours, ref, kernel.inputs):
        if inp.role == "target" and a is None:
            continue
        a = torch.zeros_like(args[0]) if a is None else a
        b = torch.zeros_like(args[0]) if b is None else b
        worst = max(worst, float(((a - b).abs() / b.abs().clamp_min(1e-300)).max()))
    return [Result(f"{name}.{value.name}_value", "torch.autograd", "float64", worst, float("nan"), "", "rel ≤ 1e-10",
                   worst <= 1e-10)]


def _row_checks(kernels_dir, torch, device, rng) -> list[Result]:
    from ..codegen.families.rowwise import row_modules
    results = []
    for module_name, kernels in row_modules().items():
        results += _row_module_checks(module_name, kernels[-1], kernels_dir, torch, device, rng)
    return results


def _row_module_checks(module_name, kernel, kernels_dir, torch, device, rng) -> list[Result]:
    """The fused kernel's outputs entry by entry against the row formula at 50 digits, and
    the gradient against torch.autograd."""
    module = load_triton_module(module_name, kernels_dir)
    fn = getattr(module, kernel.name)
    results = []
    for dtype, tdtype in ((np.float64, torch.float64), (np.float32, torch.float32), (np.float32, torch.bfloat16)):
        zs = _row_logits(dtype, rng)
        rs = rng.integers(0, zs.shape[1], zs.shape[0])
        gs = rng.normal(0, 1, zs.shape)
        tz = torch.from_numpy(zs).to(device=device, dtype=tdtype)
        tg = torch.from_numpy(gs).to(device=device, dtype=tdtype)
        seen, g_seen = tz.double().cpu().numpy(), tg.double().cpu().numpy()
        if kernel.target:
            outs = fn(tz, torch.from_numpy(rs).to(device), reduction="none")
        else:
            outs = fn(tz, tg)
        name = str(tdtype).removeprefix("torch.")
        ulps_of = _bf16_ulps if tdtype == torch.bfloat16 else (lambda got, want, scale: _ulps(got, want, scale, dtype))
        for out, spec in zip(outs, kernel.outputs):
            worst = worst_row_error(kernel, spec, seen, g_seen, rs, out.double().cpu().numpy(), ulps_of)
            limit = 2.0 if tdtype == torch.bfloat16 else ULP_BOUND[np.dtype(dtype).name]
            if device == "cuda" and tdtype == torch.float32:
                limit += 1000.0  # ex2.approx: |z − m| up to 2000 in these rows
            results.append(Result(f"{module_name}.{spec.name}", "mpmath", name, worst[0], worst[1],
                                  worst[2], f"≤ {limit:g} {'bf16 ' if tdtype == torch.bfloat16 else ''}ulp†",
                                  worst[1] <= limit))
    z = torch.tensor(rng.normal(0, 3, (9, 33)), dtype=torch.float64, device=device, requires_grad=True)
    if kernel.target:
        r = torch.tensor(rng.integers(0, 33, 9), device=device)
        ours = torch.autograd.grad(module.softmax_cross_entropy_loss(z, r), z)[0]
        ref = torch.autograd.grad(torch.nn.functional.cross_entropy(z, r), z)[0]
        what = f"{module_name}.loss"
    else:
        up = torch.tensor(rng.normal(0, 1, (9, 33)), dtype=torch.float64, device=device)
        ours = fn(z.detach(), up)[1]
        ref = torch.autograd.grad(getattr(torch, module_name)(z, dim=-1), z, up)[0]
        what = f"{module_name}.dz"
    worst = float(((ours - ref).abs() / ref.abs().clamp_min(1e-300)).max())
    results.append(Result(what, "torch.autograd", "float64", worst, float("nan"), "", "rel ≤ 1e-10", worst <= 1e-10))
    return results
