"""What a float32 long product in float64 costs a Triton kernel, compiled for sm_90 (no GPU needed; nothing runs).

    PYTHONPATH=. python3 benchmarks/triton36_sm90.py [FORMULA ...]      (default: exp(-((x) * (y))**3))

Session 36 (h-triton36): a float32 Triton kernel computes a product of five factors or more, and an exponential of one,
in float64 from the inputs, rounded once (TritonPrinter._wide_product: ∂x of exp(−(x·y)³) 3.26 → 0.26 ULP at
(0.01126909535, 25.955675), tests/test_triton36.py). This compiles each formula's main kernel (REPAIR = 0) for an
H100 with benchmarks/sm90_compile.py's stand-in driver, float32 and float64, and prints registers, spills and the
PTX's count of float64 and float32 arithmetic instructions; run it from a checkout of main for the before.
Instruction counts, not time: only a GPU run says what the float64 arithmetic costs (an H100 has half float32's
float64 throughput, a consumer card 1/64).
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["TRITON_CACHE_DIR"] = tempfile.mkdtemp(prefix="symnet-triton36-sm90-")  # a compile, not a cache hit
from sm90_compile import Recorder, triton, torch  # noqa: E402  (unsets TRITON_INTERPRET)

import symnet  # noqa: E402
from triton.runtime.jit import JITFunction  # noqa: E402


def main(argv=None) -> int:
    formulas = (argv if argv is not None else sys.argv[1:]) or ["exp(-((x) * (y))**3)"]
    rec = Recorder()
    rec.install()
    counts = {}
    run = JITFunction.run

    def counted(fn, *args, **kwargs):  # the PTX's arithmetic, per kernel compiled
        kernel = run(fn, *args, **kwargs)
        ptx = kernel.asm["ptx"]
        ops = r"^\s*(?:add|sub|mul|fma|div|neg|ex2|lg2|rcp|sqrt)(?:\.\w+)*\.{}\b"
        counts[(rec.case, fn.fn.__name__, kwargs.get("REPAIR"))] = (
            len(re.findall(ops.format("f64"), ptx, re.M)), len(re.findall(ops.format("f32"), ptx, re.M)),
            len(re.findall(r"^\s*cvt\.", ptx, re.M)))
        return kernel

    JITFunction.run = counted
    for formula in formulas:
        f = symnet.compile(symnet.derive(formula), "triton", progress=False)
        f._function.__wrapped__.__globals__["_device_ok"] = lambda name, x: None  # CPU tensors: compiled, not run
        names = f.inputs
        for dtype in (torch.float32, torch.float64):
            rec.case = f"{formula} {str(dtype)[6:]}"
            f(**{n: torch.empty(1024, dtype=dtype) for n in names})
    print(f"sm_90 compile: triton {triton.__version__}, torch {torch.__version__}")
    for r in rec.rows:
        f64, f32, cvt = counts.get((r["case"], r["kernel"], r["constexprs"].get("REPAIR")), ("?",) * 3)
        print(f"{r['case']:34} {r['kernel'][:24]:24} REPAIR {r['constexprs'].get('REPAIR', '-')}  regs {r['registers']} "
              f"spill st/ld {r['spill_stores']}/{r['spill_loads']}  f64 ops {f64} f32 ops {f32} cvt {cvt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
