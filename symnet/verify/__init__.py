"""Measuring accuracy (issue 16): ``symnet.verify(formula)`` and ``symnet verify FORMULA``.

* :mod:`symnet.verify.spec`: the one spec registry (outputs, dtypes, backends, points) and the
  tolerance table per dtype, shared by the command, the tests and ``benchmarks/accuracy.py``;
* :mod:`symnet.verify.evaluate`: a formula in mpmath (the reference) and in torch (autograd of the
  formula as written);
* :mod:`symnet.verify.measure`: the ULP tables (:func:`verify`);
* :mod:`symnet.verify.budget`: the wall-clock budget (``--timeout``, ``timeout=``);
* :mod:`symnet.verify.hazard`: the measured hazard report of ``symnet derive FORMULA --stable``;
* :mod:`symnet.verify.kernels`, :mod:`symnet.verify.kernels_triton`: ``symnet verify`` with no
  formula, every committed kernel against its formula.

The derivation step checker that was ``symnet.verify`` is :mod:`symnet.stepcheck`.
"""
from .budget import VerifyTimeoutError
from .measure import Cell, Report, verify
from .spec import BOUNDS

__all__ = ["verify", "Report", "Cell", "BOUNDS", "VerifyTimeoutError"]
