"""conftest's change to Triton's interpreter (``_interpreter_patches_the_language_once``): a @triton.jit helper
called inside a running kernel no longer re-patches triton.language. The kernels compute exactly what they computed
(bit for bit, against the interpreter as Triton ships it), the language is Triton's own again after a launch, and a
launch patches the language once however many helpers it calls. And its second change
(``_interpreter_takes_operands_of_one_type_as_they_are``): two operands of one shape skip Triton's broadcast, two
float32/float64 tensors of one type its type checking, with the same bits as Triton's own."""
from __future__ import annotations

import contextlib
import os

import pytest
from conftest import torch_and_triton

torch, triton = torch_and_triton()
if os.environ.get("TRITON_INTERPRET") != "1":
    pytest.skip("the interpreter's patching (TRITON_INTERPRET=1)", allow_module_level=True)

import numpy as np  # noqa: E402
from triton.language.semantic import TritonSemantic  # noqa: E402
from triton.runtime import interpreter  # noqa: E402

import symnet.torch.functional as SF  # noqa: E402
from symnet.codegen.backends.triton import interpreted  # noqa: E402

tl = triton.language


def _cross_entropy_and_gradient():
    """A float64 cross-entropy with every option: its kernels call the double-word helpers hundreds of times."""
    g = torch.Generator().manual_seed(3)
    z = (torch.randn(5, 7, generator=g, dtype=torch.float64) * 3).requires_grad_()
    t = torch.softmax(torch.randn(5, 7, generator=g, dtype=torch.float64), -1)
    w = torch.rand(7, generator=g, dtype=torch.float64) + 0.5
    loss = SF.cross_entropy(z, t, weight=w, label_smoothing=0.1, softcap=3.0, z_loss_scale=0.05)
    return loss.detach(), torch.autograd.grad(loss, z)[0]


def test_the_patch_is_installed():
    assert getattr(interpreter._patch_lang, "symnet_patches_once", False)


def test_the_type_shortcuts_are_installed():
    assert getattr(TritonSemantic.broadcast_impl_value, "symnet_shortcut", False)
    assert getattr(TritonSemantic.binary_op_type_checking_impl, "symnet_shortcut", False)


def test_kernels_compute_what_the_shipped_interpreter_computes(monkeypatch):
    ours = _cross_entropy_and_gradient()
    monkeypatch.setattr(interpreter, "_patch_lang", interpreter._patch_lang.shipped)
    monkeypatch.setattr(TritonSemantic, "broadcast_impl_value", TritonSemantic.broadcast_impl_value.shipped)
    monkeypatch.setattr(TritonSemantic, "binary_op_type_checking_impl",
                        TritonSemantic.binary_op_type_checking_impl.shipped)
    theirs = _cross_entropy_and_gradient()
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


def test_the_broadcast_shortcut_returns_what_triton_s_own_returns():
    """Operands of one shape and two scalars: the same two tensors; a scalar beside a block, a [2, 1] beside a
    [2, 4] and ranks that differ: Triton's own broadcast (the shapes and types it gives); unlike shapes still
    raise Triton's error."""
    sem = interpreter.interpreter_semantic
    shortcut, shipped = TritonSemantic.broadcast_impl_value, TritonSemantic.broadcast_impl_value.shipped
    scalar, block = _scalar(sem, tl.float64), lambda *shape: _block(sem, tl.float64, *shape)
    for lhs, rhs in ((block(2, 4), block(2, 4)), (scalar, scalar)):
        assert shortcut(sem, lhs, rhs) == (lhs, rhs) == shipped(sem, lhs, rhs)
    for lhs, rhs in ((block(2, 4), scalar), (scalar, block(4)), (block(2, 1), block(2, 4)), (block(4), block(2, 4))):
        got, want = shortcut(sem, lhs, rhs), shipped(sem, lhs, rhs)
        assert [str(x.type) for x in got] == [str(x.type) for x in want], (lhs.type, rhs.type)
        assert all(np.array_equal(g.handle.data, w.handle.data) for g, w in zip(got, want))
    with pytest.raises(ValueError, match="Cannot make_shape_compatible"):
        shortcut(sem, block(2, 4), block(2, 8))


def test_a_launch_patches_once_and_restores_the_language(monkeypatch):
    once = interpreter._patch_lang
    calls = []

    def counted(fn, shipped=once.shipped):
        calls.append(fn.__name__)
        return shipped(fn)

    monkeypatch.setattr(once, "shipped", counted)
    _cross_entropy_and_gradient()
    launches = len(calls)
    calls.clear()
    monkeypatch.setattr(interpreter, "_patch_lang", counted)  # as Triton ships it: a patch at every helper call
    # (and without symnet's own once-a-launch patching around its launches, session 52's interpreted_launch)
    monkeypatch.setattr(interpreted, "_patched_once", contextlib.nullcontext)
    _cross_entropy_and_gradient()
    assert 0 < launches < len(calls) / 10, (launches, len(calls))  # one a launch, not one a helper call
    assert tl.core.is_builtin(tl.exp) and tl.core.is_builtin(tl.tensor.__add__)  # Triton's own language again


def _block(sem, dtype, *shape):
    data = np.arange(int(np.prod(shape)), dtype=interpreter._get_np_dtype(dtype)).reshape(shape)
    return sem.make_tensor(interpreter.TensorHandle(data, dtype), tl.block_type(dtype, list(shape)))


def _scalar(sem, dtype):
    return sem.make_tensor(interpreter.TensorHandle(np.ones((), interpreter._get_np_dtype(dtype)), dtype), dtype)


def test_the_type_check_shortcut_returns_what_triton_s_own_returns():
    """Two float32 or float64 tensors of one type (blocks of one shape, or scalars), for +, / and with pointers
    allowed: the same two tensors, as Triton's own gives; a float32/float64 tensor beside a Python float (either
    side, past float32's range, subnormal), mixed dtypes, shapes, integers, half precision, Python ints and bools,
    without the arithmetic check: the same types and values as Triton's own."""
    sem = interpreter.interpreter_semantic
    shortcut = TritonSemantic.binary_op_type_checking_impl
    shipped = shortcut.shipped
    for dtype in (tl.float32, tl.float64):
        pairs = ((_block(sem, dtype, 2, 4), _block(sem, dtype, 2, 4)), (_scalar(sem, dtype), _scalar(sem, dtype)))
        for lhs, rhs in pairs:
            for kwargs in ({}, {"div_or_mod": True}, {"allow_lhs_ptr": True, "allow_rhs_ptr": True}):
                got, want = shortcut(sem, lhs, rhs, **kwargs), shipped(sem, lhs, rhs, **kwargs)
                assert got == (lhs, rhs) and want[0] is lhs and want[1] is rhs, (dtype, kwargs)
    others = ((_block(sem, tl.float32, 4), _block(sem, tl.float64, 4)), (_block(sem, tl.float64, 2, 4), 1.5),
              (_block(sem, tl.float64, 1, 4), _block(sem, tl.float64, 2, 4)), (_block(sem, tl.int32, 4),
              _block(sem, tl.int32, 4)), (_block(sem, tl.float16, 4), _block(sem, tl.float16, 4)),
              (_scalar(sem, tl.float64), _block(sem, tl.float64, 4)), (_block(sem, tl.float32, 4), 1e300),
              (-2.5, _block(sem, tl.float32, 2, 4)), (_scalar(sem, tl.float64), 1e-320),
              (0.1, _scalar(sem, tl.float32)),
              (_block(sem, tl.float16, 4), 1.5), (_block(sem, tl.int32, 4), 1.5), (_block(sem, tl.float64, 4), 2),
              (_block(sem, tl.float32, 4), True))
    for lhs, rhs in others:
        for kwargs in ({}, {"div_or_mod": True}, {"arithmetic_check": False}):
            got, want = shortcut(sem, lhs, rhs, **kwargs), shipped(sem, lhs, rhs, **kwargs)
            assert [str(x.type) for x in got] == [str(x.type) for x in want]
            assert all(np.array_equal(g.handle.data, w.handle.data) for g, w in zip(got, want))
