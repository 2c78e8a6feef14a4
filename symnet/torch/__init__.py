"""symnet as a drop-in PyTorch library: ``symnet.torch.functional``, ``symnet.torch.nn`` and
``symnet.torch.optim`` (the fused training step as an optimizer).

Importing this package registers every op (``torch.ops.symnet_torch.*``) with torch.library:
fake kernels, autograd (a gradient for every differentiable input; a second derivative raises
:class:`DoubleBackwardError`), vmap rules. A ``torch.export`` file of a model built from these
modules reloads in a fresh process after ``import symnet.torch``. See ``symnet/torch/_ops.py``
for what runs where (CUDA; the CPU under ``TRITON_INTERPRET=1``; else :class:`DeviceError`).
"""
from . import _ops
from . import functional, nn, optim
from ._formula import Formula, from_formula
from ._ops import DeviceError, DoubleBackwardError

__all__ = ["functional", "nn", "optim", "from_formula", "Formula", "DeviceError", "DoubleBackwardError"]
