"""Fused linear + cross-entropy that never holds the whole (N, V) logits matrix.

The loss of a language model's last layer, C = CE(x Wᵀ + b, target), over N rows of width H
and V classes. Unfused, autograd keeps the logits z = x Wᵀ + b (N·V numbers), their
log-softmax (N·V more) and, in backward, ∂C/∂z (N·V again): for N = 4096 tokens and
V = 32,000 classes in float32 that is 3 × 524 MB. Chunked over rows, as Liger-Kernel's
``LigerFusedLinearCrossEntropyLoss`` (``src/liger_kernel/ops/fused_linear_cross_entropy.py``),
only one chunk of rows has logits at a time. Per chunk of rows x_c:

    z_c = x_c Wᵀ + b                          torch matmul (addmm), as Liger
    loss_c, ∂C/∂z_c = CE(z_c), in place       ONE launch of the row registry's generated
                                              cross_entropy_grad kernel (kernels/triton/
                                              cross_entropy.py, its derivation: symnet/
                                              rowwise_registry.py), gradient over z_c
    ∂C/∂x_c  = (∂C/∂z_c) W                    torch matmul
    ∂C/∂W   += (∂C/∂z_c)ᵀ x_c                 torch matmul, accumulated in float32
    ∂C/∂b   += Σ_rows ∂C/∂z_c

so the gradients are computed in the forward pass (the loss is the network's last op) and the
backward only scales them by the upstream gradient g (a scalar for "mean" and "sum"). For
reduction="none" the upstream gradient is a vector, one g_i per row, which must multiply the
rows of ∂C/∂z before the matmuls sum over rows: there the forward computes only the loss and
the backward runs the chunks again with g folded in (as Liger does).

No new kernel: the cross-entropy is the generated ``cross_entropy`` kernel with its options
(class weights, ignore_index, label smoothing, softcap, z-loss), called with reduction="none"
on each chunk; the mean's divisor Σ_i w[target_i] over the rows not ignored (torch's weighted
mean) is taken once over all rows, so the chunks never see it. The matmuls are torch's.

Memory budget: a chunk's logits (float32, or float64 for float64 inputs) take at most
:data:`LOGITS_CHUNK_BYTES` (64 MiB), i.e. ``chunk rows = max(1, LOGITS_CHUNK_BYTES // (V · 4))``
(524 rows for V = 32,000); ``chunk_size=`` sets the rows directly. bf16/fp16 inputs hold, for
a moment, the chunk's logits from the matmul and its gradient cast back for the matmuls, each
half that size. Held besides: ∂C/∂x (N·H, the input's dtype), ∂C/∂W (V·H, float32) and ∂C/∂b
until backward, as in Liger (and the input and weight, referenced, for the backward).
"""
from __future__ import annotations

import contextlib
import math

import torch

from ..errors import SymnetError
from . import _ops

NS = _ops.NS
LOGITS_CHUNK_BYTES = 64 * 2**20
"""The most bytes one chunk's logits may take (float32 logits: V·4 bytes a row)."""


def _acc(dtype: torch.dtype) -> torch.dtype:
    """The dtype of the logits the kernel sees, the loss and the weight-gradient sums."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def chunk_rows(n_rows: int, n_classes: int, dtype: torch.dtype = torch.float32,
               budget: int = LOGITS_CHUNK_BYTES) -> int:
    """The rows of one chunk: as many as keep its logits under ``budget`` bytes (at least 1)."""
    per_row = n_classes * torch.empty((), dtype=_acc(dtype)).element_size()
    return max(1, min(max(n_rows, 1), budget // max(per_row, 1)))


def _no_autocast(x: torch.Tensor):
    """Autocast off inside the op: its arguments are cast already, and the float32 sums must stay float32."""
    if x.device.type in ("cpu", "cuda"):
        return torch.autocast(x.device.type, enabled=False)
    return contextlib.nullcontext()


def _chunked(input, weight, target, bias, class_weight, ignore_index, label_smoothing, softcap, z_loss_scale,
             chunk_size, grads, weight_grad, g_rows=None):
    """Per-row losses and, with ``grads``, the unscaled gradients (∂x, ∂W, ∂b) of Σ_i g_i·C_i
    (g_i = 1 without ``g_rows``; ∂W None without ``weight_grad``: a frozen head, as in LoRA
    fine-tuning, saves its V·H sums and a third of the matmuls), one chunk of rows at a time."""
    kernels = _ops._kernels("cross_entropy")
    N, H = input.shape
    V = weight.shape[0]
    acc = _acc(input.dtype)
    loss = torch.empty(N, dtype=acc, device=input.device)
    gi = torch.empty_like(input) if grads else None
    gw = torch.zeros(V, H, dtype=acc, device=input.device) if grads and weight_grad else None
    gb = torch.zeros(V, dtype=acc, device=input.device) if grads else None
    wt = weight.t()
    for start in range(0, N, chunk_size):
        stop = min(start + chunk_size, N)
        x = input[start:stop]
        z = (torch.addmm(bias, x, wt) if bias is not None else x @ wt).to(acc)  # (rows, V): the only logits held
        t = target[start:stop]
        if not grads:
            loss[start:stop] = kernels.cross_entropy(z, t, class_weight, ignore_index, "none", label_smoothing,
                                                     softcap, z_loss_scale, check=False)
            continue
        rows_loss, dz = kernels.cross_entropy_grad(z, t, class_weight, ignore_index, "none", label_smoothing,
                                                   softcap, z_loss_scale, check=False, inplace=True)
        loss[start:stop] = rows_loss
        del z  # dz is z, overwritten by ∂C/∂z
        if g_rows is not None:
            dz.mul_(g_rows[start:stop, None])
        gb += dz.sum(0)
        dz = dz.to(input.dtype)  # the matmuls in the input's dtype (bf16 on tensor cores); sums in float32
        gi[start:stop] = dz @ weight
        if gw is not None:
            gw += dz.t() @ x
        del dz  # before the next chunk's logits: one chunk held at a time
    return loss, gi, gw, gb


def _mean_divisor(target, class_weight, ignore_index, V, acc):
    """Σ_i w[target_i] over the rows not ignored (the count of them without class weights), as torch."""
    keep = target != ignore_index
    if class_weight is None:
        return keep.sum().to(acc)
    w = class_weight.to(acc)[target.clamp(0, V - 1)]  # a class out of range (unchecked) is NaN in its row anyway
    return torch.where(keep, w, 0).sum()


def _check_classes(input, target, ignore_index, V):
    if target.numel() and _ops.classes_checkable(input):
        bad = (target != ignore_index) & ((target < 0) | (target >= V))
        if bool(bad.any()):
            raise IndexError(f"fused_linear_cross_entropy: target {int(target[bad][0])} is out of bounds for "
                             f"{V} classes")


def _forward_impl(input: torch.Tensor, weight: torch.Tensor, target: torch.Tensor, bias: torch.Tensor | None,
                  class_weight: torch.Tensor | None, ignore_index: int, reduction: str, label_smoothing: float,
                  softcap: float | None, z_loss_scale: float, chunk_size: int,
                  with_grads: bool, weight_grad: bool) -> list[torch.Tensor]:
    V = weight.shape[0]
    acc = _acc(input.dtype)
    grads = with_grads and reduction != "none"
    _check_classes(input, target, ignore_index, V)
    with _ops._launch("fused_linear_cross_entropy", input), _no_autocast(input):
        if input.shape[0] == 0:  # no chunk runs: the kernel's launcher still checks the options (launches nothing)
            _ops._kernels("cross_entropy").cross_entropy(input.new_empty(0, V, dtype=acc), target, class_weight,
                                                         ignore_index, "none", label_smoothing, softcap,
                                                         z_loss_scale, check=False)
        loss, gi, gw, gb = _chunked(input, weight, target, bias, class_weight, ignore_index, label_smoothing,
                                    softcap, z_loss_scale, chunk_size, grads, weight_grad)
        if reduction == "none":
            return [loss, *_no_grads(input, weight)]
        total = loss.sum()
        scale = None
        if reduction == "mean":
            divisor = _mean_divisor(target, class_weight, ignore_index, V, acc)
            total = total / divisor  # all rows ignored: 0/0 = NaN, as torch
            # ... with gradient 0, as torch; but class weights summing to 0 over rows that count: 1/0, as torch
            scale = torch.where((target != ignore_index).any(), 1 / divisor, 0)
        if not grads:
            return [total, *_no_grads(input, weight)]
        if scale is not None:
            gi, gw, gb = gi * scale.to(gi.dtype), (gw * scale if gw is not None else None), gb * scale
        return [total, gi, _weight_grad(gw, weight), gb.to(_bias_dtype(weight, bias))]


def _weight_grad(gw, weight):
    return gw.to(weight.dtype) if gw is not None else weight.new_empty(0)


def _bias_dtype(weight, bias):
    return bias.dtype if bias is not None else weight.dtype


def _no_grads(input, weight):
    return [input.new_empty(0), weight.new_empty(0), weight.new_empty(0)]


def _forward_fake(input, weight, target, bias, class_weight, ignore_index, reduction, label_smoothing, softcap,
                  z_loss_scale, chunk_size, with_grads, weight_grad):
    acc = _acc(input.dtype)
    loss = input.new_empty(input.shape[0] if reduction == "none" else (), dtype=acc)
    if with_grads and reduction != "none":
        return [loss, torch.empty_like(input), torch.empty_like(weight) if weight_grad else weight.new_empty(0),
                weight.new_empty(weight.shape[0], dtype=_bias_dtype(weight, bias))]
    return [loss, *_no_grads(input, weight)]


def _scale_impl(g: torch.Tensor, grads: list[torch.Tensor], inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """The gradients of reduction "mean"/"sum", computed in the forward, times the upstream scalar g.
    ``inputs`` (input, weight) are not read: they tie the result to them, so that a second
    derivative (create_graph=True) reaches this op's refusal instead of a silent zero."""
    return [(g * t).to(t.dtype) for t in grads]


def _rows_backward_impl(g: torch.Tensor, input: torch.Tensor, weight: torch.Tensor, target: torch.Tensor,
                        bias: torch.Tensor | None, class_weight: torch.Tensor | None, ignore_index: int,
                        reduction: str, label_smoothing: float, softcap: float | None, z_loss_scale: float,
                        chunk_size: int, weight_grad: bool) -> list[torch.Tensor]:
    """The chunks again, each row's ∂C/∂z times its g_i before the matmuls: reduction="none"
    (g one number a row), or a forward that computed no gradients (g a scalar: g_i = g, or
    g/Σw for "mean")."""
    acc = _acc(input.dtype)
    with _ops._launch("fused_linear_cross_entropy_backward", input), _no_autocast(input):
        # an ignored row's gradient is 0 whatever its upstream g_i (NaN, ∞ included), as torch's
        g_rows = torch.where(target != ignore_index, g.to(acc).expand(input.shape[0]), 0)
        if reduction == "mean":
            divisor = _mean_divisor(target, class_weight, ignore_index, weight.shape[0], acc)
            g_rows = g_rows * torch.where((target != ignore_index).any(), 1 / divisor, 0)
        _, gi, gw, gb = _chunked(input, weight, target, bias, class_weight, ignore_index, label_smoothing, softcap,
                                 z_loss_scale, chunk_size, True, weight_grad, g_rows=g_rows)
    return [gi, _weight_grad(gw, weight), gb.to(_bias_dtype(weight, bias))]


if not _ops._exists("fused_linear_cross_entropy"):
    _flce = torch.library.custom_op(f"{NS}::fused_linear_cross_entropy", _forward_impl, mutates_args=())
    _ops.register_fake(_flce, _forward_fake)

    def _setup(ctx, inputs, output):
        input, weight, target, bias, class_weight, ignore_index, reduction, ls, softcap, zl, chunk, with_grads, \
            weight_grad = inputs
        ctx.has_bias, ctx.weight_grad = bias is not None, weight_grad
        ctx.options = (ignore_index, reduction, ls, softcap, zl, chunk)
        ctx.again = reduction == "none" or not with_grads
        if ctx.again:  # the backward runs the chunks again with each row's g_i
            ctx.save_for_backward(input, weight, target, bias, class_weight)
        else:  # the gradients, computed in the forward (input and weight: see _scale_impl)
            ctx.save_for_backward(input, weight, *output[1:])
        ctx.mark_non_differentiable(*output[1:])

    def _backward(ctx, grads):
        g = grads[0]
        if ctx.again:
            gi, gw, gb = _ops.call(torch.ops.symnet_torch.fused_linear_cross_entropy_rows_backward.default,
                                   g, *ctx.saved_tensors, *ctx.options, ctx.needs_input_grad[1])
        else:
            input, weight, *grads = ctx.saved_tensors
            gi, gw, gb = _ops.call(torch.ops.symnet_torch.fused_linear_cross_entropy_scale.default, g, grads,
                                   [input, weight])
        weight_grad = ctx.needs_input_grad[1] if ctx.again else ctx.weight_grad
        return gi, (gw if weight_grad else None), None, (gb if ctx.has_bias else None), *([None] * 9)

    _ops.register_autograd(_flce, _backward, _setup)
    _flce.register_vmap(_ops._vmap_loop(torch.ops.symnet_torch.fused_linear_cross_entropy))

    _scale = torch.library.custom_op(f"{NS}::fused_linear_cross_entropy_scale", _scale_impl, mutates_args=())
    _ops.register_fake(_scale, lambda g, grads, inputs: [torch.empty_like(t) for t in grads])
    _ops.register_autograd(_scale, _ops._refuse_second("fused_linear_cross_entropy"),
                           lambda ctx, inputs, output: None)
    _scale.register_vmap(_ops._vmap_loop(torch.ops.symnet_torch.fused_linear_cross_entropy_scale))

    _rows_b = torch.library.custom_op(f"{NS}::fused_linear_cross_entropy_rows_backward", _rows_backward_impl,
                                      mutates_args=())
    _ops.register_fake(_rows_b, lambda g, input, weight, target, bias, class_weight, *options:
                          [torch.empty_like(input), torch.empty_like(weight) if options[-1] else weight.new_empty(0),
                           weight.new_empty(weight.shape[0], dtype=_bias_dtype(weight, bias))])
    _ops.register_autograd(_rows_b, _ops._refuse_second("fused_linear_cross_entropy"),
                           lambda ctx, inputs, output: None)
    _rows_b.register_vmap(_ops._vmap_loop(torch.ops.symnet_torch.fused_linear_cross_entropy_rows_backward))


def fused_linear_cross_entropy(input, weight, target, bias=None, *, ce_weight=None, ignore_index=-100,
                               reduction="mean", label_smoothing=0.0, softcap=None, z_loss_scale=0.0,
                               chunk_size=None):
    """``cross_entropy(linear(input, weight, bias), target)`` without the whole logits matrix:
    chunked over rows (see :mod:`symnet.torch._fused_linear_ce`), the gradients of input,
    weight and bias computed chunk by chunk in the forward pass.

    Arguments (Liger-Kernel's ``liger_fused_linear_cross_entropy`` and torch's names):
      input: ``(*, H)`` (e.g. ``(B, T, H)``, flattened to rows)
      weight: ``(V, H)``, the linear layer's weight (V classes)
      target: class indices, ``input.shape[:-1]``; ``ignore_index`` rows count for nothing
      bias: ``(V,)`` or None
      ce_weight: a weight per class ``(V,)`` or None (torch's ``weight``); "mean" divides by
        Σ ce_weight[target] over the rows not ignored, as torch
      reduction: "mean", "sum" or "none" (the loss per row, shape ``target.shape``)
      label_smoothing: in [0, 1]; softcap: s > 0, logits become s·tanh(z/s) (Gemma 2), or None;
      z_loss_scale: λ·logsumexp² added to each row (PaLM's z-loss)
      chunk_size: rows per chunk; None keeps a chunk's logits under ``LOGITS_CHUNK_BYTES`` (64 MiB)

    Dtypes: under ``torch.autocast`` input, weight and bias take the autocast dtype (as
    ``F.linear``). The logits a chunk hands to the kernel, the loss and the weight/bias gradient
    sums are float32 (float64 for float64 input); the loss is returned in that dtype (as torch's
    cross-entropy under autocast). Soft (probability) targets are not supported here.

    Raises:
      IndexError: a class outside [0, V) that is not ``ignore_index`` (as torch; one host
        synchronisation, skipped while a CUDA graph is captured: then that row's loss and
        gradient are NaN)
      SymnetError: a bad ``reduction``, ``chunk_size``, shape or dtype (input and weight of
        different dtypes outside autocast), soft targets, ``ce_weight`` or ``target`` requiring grad
      DeviceError: a CPU tensor without ``TRITON_INTERPRET=1``
      ValueError: an option out of range (from the kernel: label_smoothing, softcap, z_loss_scale)
    """
    if reduction not in ("mean", "sum", "none"):
        raise SymnetError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")
    ignore_index = _ops.ignore_index_arg(ignore_index, "fused_linear_cross_entropy")
    if target.is_floating_point():
        raise SymnetError("fused_linear_cross_entropy: target must hold class indices; soft targets would be an "
                          "(N, V) tensor, the size this op exists to avoid (use cross_entropy for them)")
    for what, tensor in (("target", target), ("ce_weight", ce_weight)):
        if isinstance(tensor, torch.Tensor) and tensor.requires_grad:
            raise SymnetError(f"fused_linear_cross_entropy gives no gradient with respect to {what}; pass it detached")
    if weight.dim() != 2 or input.dim() < 1 or input.shape[-1] != weight.shape[1]:
        raise SymnetError(f"fused_linear_cross_entropy: input {tuple(input.shape)} and weight {tuple(weight.shape)} "
                          "must be (*, H) and (V, H)")
    if tuple(target.shape) != tuple(input.shape[:-1]):
        raise SymnetError(f"fused_linear_cross_entropy: target has shape {tuple(target.shape)}; input of shape "
                          f"{tuple(input.shape)} needs {tuple(input.shape[:-1])}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise SymnetError(f"fused_linear_cross_entropy: bias has shape {tuple(bias.shape)}, not ({weight.shape[0]},)")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise SymnetError(f"fused_linear_cross_entropy: chunk_size must be a positive int or None, not {chunk_size!r}")
    from .functional import _arguments, _autocast

    _arguments("fused_linear_cross_entropy", numbers=[("label_smoothing", label_smoothing), ("softcap", softcap),
                                                      ("z_loss_scale", z_loss_scale)])
    input, weight, bias = _autocast(input, weight, bias)
    lead = input.shape[:-1]
    rows = input.reshape(math.prod(lead), input.shape[-1])  # not -1: H = 0 leaves no row count to infer
    if weight.dtype != rows.dtype or not rows.is_floating_point():
        raise SymnetError(f"fused_linear_cross_entropy: input ({rows.dtype}) and weight ({weight.dtype}) need one "
                          "floating-point dtype, as F.linear (or run under torch.autocast)")
    if bias is not None and bias.dtype != rows.dtype:
        bias = bias.to(rows.dtype)  # addmm needs one dtype, as F.linear
    # a chunk_size past the rows is one chunk; capped so that it fits the op's int64 argument
    chunk = min(chunk_size, 2**62) if chunk_size is not None else chunk_rows(rows.shape[0], weight.shape[0], rows.dtype)
    with_grads = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (input, weight, bias))
    out = _ops.call(torch.ops.symnet_torch.fused_linear_cross_entropy.default,
                    rows, weight, _ops.int64_classes(target.reshape(-1)), bias, ce_weight, ignore_index, reduction,
                    float(label_smoothing), None if softcap is None else float(softcap), float(z_loss_scale),
                    int(chunk), with_grads, with_grads and weight.requires_grad)[0]
    return out.reshape(lead) if reduction == "none" else out
