"""GPU launch-parameter sweep: the generated bandwidth-bound kernels at other block sizes and warps.

    PYTHONPATH=. python3 benchmarks/gpu_sweep.py [--json FILE]
    PYTHONPATH=. TRITON_INTERPRET=1 python3 benchmarks/gpu_sweep.py --small   # CPU smoke test

The kernels are the committed, generated ones, called through their launchers with other
values of their launch parameters (BLOCK and num_warps; for cross-entropy the row
tiling: one read with the row in registers, or two passes in tiles of BLOCK_V), at the
sizes of benchmarks/gpu.py, beside a 1 GiB device-to-device copy. The output of each
variant is checked against the default's before it is timed; the default is marked. What this finds goes back into the code generator's choices;
it changes nothing by itself.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gpu_common import DEVICE, copy_bandwidth, quick_timer, write_json  # noqa: E402 (beside this file)
from symnet.kernels import load_kernel  # noqa: E402


def main(argv=None) -> int:
    import argparse
    import triton
    import triton.testing
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json")
    p.add_argument("--small", action="store_true",
                   help="tiny sizes, one rough timing: a smoke test of the script (under TRITON_INTERPRET=1 on a CPU)")
    args = p.parse_args(argv)
    if DEVICE != "cuda" and not args.small:
        p.error("needs a GPU (or --small under TRITON_INTERPRET=1)")
    time_ms = quick_timer()
    copy = copy_bandwidth(time_ms, args.small)
    name = torch.cuda.get_device_name() if DEVICE == "cuda" else "CPU (interpreter smoke test)"
    rows, lines = [], [f"{name}, copy {copy:.0f} GB/s"]
    empty_cache = torch.cuda.empty_cache if DEVICE == "cuda" else (lambda: None)

    # sigmoid+MSE, 64M float32, reduction="sum": read z, y; write dz (the whole launcher: its
    # counter's zeroing, the kernel, the last program's sum of the partial sums)
    S = load_kernel("sigmoid_mse", "triton")
    n = 3000 if args.small else 64 * 2 ** 20
    z, y = torch.randn(n, device=DEVICE) * 3, torch.rand(n, device=DEVICE)
    want_total, want = S.sigmoid_mse(z, y, reduction="sum")
    default = (S.BLOCK, S.WARPS)
    for block in (1024, 4096) if args.small else (1024, 2048, 4096, 8192):
        for warps in (4,) if args.small else (4, 8, 16):
            S.BLOCK, S.WARPS = block, warps
            go = lambda: S.sigmoid_mse(z, y, reduction="sum")  # noqa: E731
            total, dz = go()
            ok = bool(torch.allclose(dz, want, rtol=1e-6, atol=1e-7)) and abs(float(total) / float(want_total) - 1) < 1e-5
            ms = time_ms(go)
            gbs = 3 * n * 4 / ms / 1e6
            mark = " (default)" if (block, warps) == default else ""
            rows.append({"kernel": "sigmoid_mse", "BLOCK": block, "num_warps": warps, "ms": ms, "GB/s": gbs, "ok": ok,
                         "default": bool(mark)})
            lines.append(f"sigmoid_mse {n // 2 ** 20 if n >= 2 ** 20 else n}{'M' if n >= 2 ** 20 else ''} f32  BLOCK={block:<6} warps={warps:<3} {ms:7.3f} ms "
                         f"{gbs:6.0f} GB/s {gbs / copy:.2f}× copy{mark}{'' if ok else '  WRONG'}")
    S.BLOCK, S.WARPS = default
    z = y = want = None
    empty_cache()

    # softmax cross-entropy, loss (mean) and gradient: read logits, write the gradient; the whole
    # launcher, its row tiling replaced: one read with the row in registers, or two passes in tiles
    CE = load_kernel("softmax_cross_entropy", "triton")
    chosen = CE._row_tiles
    shapes = ((8192, 32000, torch.float32), (8192, 32000, torch.bfloat16), (4096, 128256, torch.bfloat16))
    if args.small:
        shapes = ((3, 300, torch.float32), (2, 40000, torch.bfloat16))
    for N, V, dtype in shapes:
        zz = (torch.randn(N, V, device=DEVICE) * 2).to(dtype)
        r = torch.randint(0, V, (N,), device=DEVICE)
        want_loss, want = CE.softmax_cross_entropy_grad(zz, r, check=False)
        default = chosen(V, dtype)
        warps = (4,) if args.small else (8, 16, 32)
        variants = [dict(BLOCK_V=b, ONE_READ=False, num_warps=w) for b in (8192, 16384) for w in warps]
        if V <= 32768:
            variants += [dict(BLOCK_V=triton.next_power_of_2(V), ONE_READ=True, num_warps=w) for w in warps]
        for tiles in variants:
            CE._row_tiles = lambda V, dtype, tiles=tiles: tiles
            go = lambda: CE.softmax_cross_entropy_grad(zz, r, check=False)  # noqa: E731
            try:
                loss, dz = go()
            except Exception as exc:  # noqa: BLE001 - a variant that does not fit is reported, not fatal
                lines.append(f"CE {str(dtype)[6:]:8} {N}x{V:<6} {tiles}: {type(exc).__name__}: {str(exc)[:120]}")
                continue
            ok = bool(torch.allclose(dz.float(), want.float(), rtol=1e-3, atol=1e-6)) and \
                abs(float(loss) / float(want_loss) - 1) < 1e-3
            ms = time_ms(go)
            gbs = 2 * N * V * zz.element_size() / ms / 1e6
            mark = " (default)" if tiles == default else ""
            path = "one read " if tiles["ONE_READ"] else "two passes"
            rows.append({"kernel": f"ce_{str(dtype)[6:]}_{N}x{V}", **tiles, "ms": ms, "GB/s": gbs, "ok": ok,
                         "default": bool(mark)})
            lines.append(f"CE {str(dtype)[6:]:8} {N}x{V:<6} {path} BLOCK_V={tiles['BLOCK_V']:<6} "
                         f"warps={tiles['num_warps']:<3} {ms:7.3f} ms {gbs:6.0f} GB/s {gbs / copy:.2f}× copy"
                         f"{mark}{'' if ok else '  WRONG'}")
        CE._row_tiles = chosen
        zz = want = dz = None
        empty_cache()
    print("\n".join(lines))
    write_json(args.json, {"gpu": name, "torch": torch.__version__,
                           "triton": triton.__version__, "copy_GB/s": copy, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
