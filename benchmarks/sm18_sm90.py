"""Compile the written softmaxes' Triton kernels (symnet.compile, not committed under kernels/) for sm_90.

    PYTHONPATH=. python3 benchmarks/sm18_sm90.py [TERMS ...]      (default: 3 8 24)

The float64 kernel of a written softmax computes every output again in double words (issue 16, session 18:
tests/test_sm18.py): 24 double-word exponentials and the quotients inline. This compiles each kernel for an H100
(sm_90, with benchmarks/sm90_compile.py's stand-in driver: no GPU needed) in float32 and float64 and prints what
``ptxas -v`` says of it (registers, spills). Nothing runs and nothing is timed.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sm90_compile import Recorder, triton, torch  # noqa: E402  (unsets TRITON_INTERPRET)

import symnet  # noqa: E402


def softmax(n: int) -> str:
    return "exp(a0)/(" + " + ".join(f"exp(a{i})" for i in range(n)) + ")"


def main(argv=None) -> int:
    terms = [int(t) for t in (argv if argv is not None else sys.argv[1:])] or [3, 8, 24]
    rec = Recorder()
    rec.install()
    for n in terms:
        f = symnet.compile(symnet.derive(softmax(n)), "triton", progress=False)
        f._function.__wrapped__.__globals__["_device_ok"] = lambda name, x: None  # CPU tensors: compiled, not run
        for dtype in (torch.float32, torch.float64):
            rec.case = f"written softmax {n} terms {dtype}"
            f(**{f"a{i}": torch.empty(1024, dtype=dtype) for i in range(n)})
    print(f"sm_90 compile: triton {triton.__version__}, torch {torch.__version__}")
    for r in rec.rows:
        print(f"{r['case']:40} {r['kernel'][:30]:30} warps {r['warps']} regs {r['registers']} "
              f"spill st/ld {r['spill_stores']}/{r['spill_loads']} stack {r['stack']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
