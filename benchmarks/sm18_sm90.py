"""Compile the written softmaxes' Triton kernels (symnet.compile, not committed under kernels/) for sm_90, timed.

    PYTHONPATH=. python3 benchmarks/sm18_sm90.py [TERMS ...]      (default: 3 8 24)

The float64 kernel of a written softmax computes every output again in double words (issue 16, session 18:
tests/test_sm18.py): 24 double-word exponentials (``_dw_exp_short``, inlined) and the quotients. This compiles each
kernel for an H100 (sm_90, with benchmarks/sm90_compile.py's stand-in driver: no GPU needed) in float32 and float64,
in a fresh Triton cache, and prints the CPU seconds each compile took (this process and its children: Triton's
ptxas, and the report's own ``ptxas -v``, which runs it a second time) beside what ``ptxas -v`` says of it
(registers, spills). Nothing runs. CPU seconds, not wall time: the box is shared.

Session 19 (triton 3.9): Triton's coalescing pass took most of the float64 kernel's time (its slice of each load and
store over the whole kernel: about the square of the kernel's operations), ptxas the rest (eight entries a thread
spilled 28 KB); benchmarks/results/sm18-sm90.txt.
"""
from __future__ import annotations

import os
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["TRITON_CACHE_DIR"] = tempfile.mkdtemp(prefix="symnet-sm18-sm90-")  # a compile, not a cache hit
from sm90_compile import Recorder, triton, torch  # noqa: E402  (unsets TRITON_INTERPRET)

import symnet  # noqa: E402


def softmax(n: int) -> str:
    return "exp(a0)/(" + " + ".join(f"exp(a{i})" for i in range(n)) + ")"


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (ptxas)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv=None) -> int:
    terms = [int(t) for t in (argv if argv is not None else sys.argv[1:])] or [3, 8, 24]
    rec = Recorder()
    rec.install()
    seconds = []
    for n in terms:
        f = symnet.compile(symnet.derive(softmax(n)), "triton", progress=False)
        f._function.__wrapped__.__globals__["_device_ok"] = lambda name, x: None  # CPU tensors: compiled, not run
        for dtype in (torch.float32, torch.float64):
            rec.case = f"written softmax {n} terms {dtype}"
            start = cpu_seconds()
            f(**{f"a{i}": torch.empty(1024, dtype=dtype) for i in range(n)})
            seconds.append(cpu_seconds() - start)
    print(f"sm_90 compile: triton {triton.__version__}, torch {torch.__version__}")
    for r, s in zip(rec.rows, seconds):
        print(f"{r['case']:40} {r['kernel'][:30]:30} CPU {s:6.1f} s  warps {r['warps']} regs {r['registers']} "
              f"spill st/ld {r['spill_stores']}/{r['spill_loads']} stack {r['stack']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
