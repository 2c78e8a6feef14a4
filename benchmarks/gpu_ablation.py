"""GPU ablation of the generated sigmoid+MSE kernel: where its time goes (issue 19's bandwidth goal).

    PYTHONPATH=. python3 benchmarks/gpu_ablation.py [--json FILE]
    PYTHONPATH=. TRITON_INTERPRET=1 python3 benchmarks/gpu_ablation.py --small   # CPU smoke test

The committed kernel (kernels/triton/sigmoid_mse.py, float32, 64M elements, reduction "sum") beside variants
made from its text by one substitution each, written to a temporary folder and imported from there. The variants
are measurements only, never shipped, and the inaccurate ones say so:

| variant | what changes |
|---|---|
| generated | nothing (the committed kernel: since session 26 its float32 double words are in the repair kernel) |
| no sum | reduction "none": no partial sums, no last-program sum; L is written (one more output) |
| f64 body, no bound | y − σ(z) in float64 rounded once: no error bound, no flag, no repair kernel's list |
| float32 y − σ (inaccurate) | the naive float32 difference: the bandwidth the kernel would have without widening |

Measured on an H200 before session 26's change (benchmarks/results/gpu-ablation-h200-2026-12-04.txt): generated
0.882 ms (190 registers: the double words inline), f64 body 0.383 (78), float32 0.216 (32).

Each variant's dL/dz is compared with the float64 formula (the float32 one only loosely); its registers and spills
are printed where Triton reports them. The substitutions are checked: a variant whose text did not change is an
error, not a silent copy of the original.
"""
from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from gpu_common import DEVICE, copy_bandwidth, quick_timer, write_json  # noqa: E402 (beside this file)

WIDENED = "    y_minus_sig_z = _dw_widened_f1e5d05dde_repaired(y, z, REPAIR, tier_ptr + pid, mask)\n"
VARIANTS = {  # name → (old text, new text) in the committed kernel's source
    "f64 body, no bound": (WIDENED, "    y_minus_sig_z = (y.to(tl.float64) - _sigmoid(z.to(tl.float64))).to(y.dtype)\n"),
    "float32 y - sigma (inaccurate)": (WIDENED, "    y_minus_sig_z = y - _sigmoid(z)\n"),
}


def _variant(folder: Path, name: str, old: str, new: str, source: str):
    if source.count(old) != 1:
        raise SystemExit(f"variant {name!r}: its substitution matches {source.count(old)} places in the kernel's "
                         "text (the generated kernel changed: update this ablation)")
    path = folder / f"sigmoid_mse_{len(list(folder.iterdir()))}.py"
    path.write_text(source.replace(old, new))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _registers(kernel) -> str:
    """'N registers, M B spilled' of the kernel's compiled specialisations, where this Triton reports them."""
    found = []
    for cache in getattr(kernel, "device_caches", {}).values():
        table = cache[0] if isinstance(cache, tuple) else cache
        for compiled in getattr(table, "values", lambda: [])():
            regs, spills = getattr(compiled, "n_regs", None), getattr(compiled, "n_spills", None)
            if regs is not None:
                found.append(f"{regs} registers, {spills} B spilled")
    return "; ".join(sorted(set(found))) or "registers not reported"


def main(argv=None) -> int:
    import argparse
    import triton
    import triton.testing
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json")
    p.add_argument("--small", action="store_true", help="tiny size, one rough timing (TRITON_INTERPRET=1 on a CPU)")
    args = p.parse_args(argv)
    if DEVICE != "cuda" and not args.small:
        p.error("needs a GPU (or --small under TRITON_INTERPRET=1)")
    time_ms = quick_timer()
    copy = copy_bandwidth(time_ms, args.small)
    name = torch.cuda.get_device_name() if DEVICE == "cuda" else "CPU (interpreter smoke test)"
    lines = [f"{name}, copy {copy:.0f} GB/s, torch {torch.__version__}, triton {triton.__version__}"]
    n = 3000 if args.small else 64 * 2 ** 20
    g = torch.Generator(device=DEVICE).manual_seed(0)
    z = torch.randn(n, device=DEVICE, generator=g) * 3
    y = torch.rand(n, device=DEVICE, generator=g)
    s = torch.sigmoid(z.double())
    want = -2 * (y.double() - s) * s * (1 - s)
    source = (ROOT / "kernels" / "triton" / "sigmoid_mse.py").read_text()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec = importlib.util.spec_from_file_location("sigmoid_mse_generated", ROOT / "kernels/triton/sigmoid_mse.py")
        base = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(base)
        cases = [("generated", base, "sum"), ("no sum", base, "none")]
        for vname, (old, new) in VARIANTS.items():
            cases.append((vname, _variant(folder, vname, old, new, source), "sum"))
        for vname, module, reduction in cases:
            fn = lambda m=module, r=reduction: m.sigmoid_mse(z, y, reduction=r)[1]  # noqa: E731
            got = fn().double()
            err = float(((got - want).abs() / want.abs().clamp_min(1e-30)).max())
            ms = time_ms(fn)
            moved = (4 if reduction == "none" else 3) * n * 4
            gbs = moved / ms / 1e6
            line = (f"{vname:38s} {ms:7.3f} ms {gbs:6.0f} GB/s {gbs / copy:5.2f}× copy   worst relative error "
                    f"{err:.2e}   {_registers(module._sigmoid_mse_kernel)}")
            print(line, flush=True)
            lines.append(line)
            rows.append({"variant": vname, "ms": ms, "bytes": moved, "copy_GBps": copy, "worst_rel_err": err,
                         "registers": _registers(module._sigmoid_mse_kernel)})
            if args.json:
                write_json(args.json, {"device": name, "rows": rows})
    print("\n".join(lines[:1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
