"""Code generation: derivation → kernel description → stabilised, CSE'd → backend source.

The pipeline, one module or folder per stage:

- :mod:`.ir`: the kernel description (inputs with roles, outputs, one CSE'd assignment list);
- :mod:`.rewrite`: the numerical-stability rules, applied node by node;
- :mod:`.families`: what each kernel family computes (row-wise, dense, training step, update rules);
- :mod:`.backends`: one printer per backend and one skeleton per family (``numpy``, ``triton``);
- :mod:`.compiler`: ``symnet.compile`` / ``compile_step``; :mod:`.blocks`: the committed kernels.

The function registry is :mod:`symnet.registry` (elementwise functions and activations),
:mod:`symnet.losses` and :mod:`symnet.rowwise_registry`; the checks of generated code against
mpmath and torch are :mod:`symnet.verify`.
"""
from .compiler import CompiledKernel, compile, compile_step
from .ir import Kernel, describe
from .rewrite import RULES, softplus, stabilise

__all__ = ["compile", "compile_step", "CompiledKernel", "Kernel", "describe", "RULES", "stabilise", "softplus"]
