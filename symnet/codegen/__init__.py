"""Code generation: derivation → kernel description → stabilised, CSE'd → backend source."""
from .compiler import CompiledKernel, compile, compile_step
from .kernel import Kernel, describe
from .stability import RULES, softplus, stabilise

__all__ = ["compile", "compile_step", "CompiledKernel", "Kernel", "describe", "RULES", "stabilise", "softplus"]
