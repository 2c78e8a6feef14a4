"""GPU launch-parameter sweep: the generated bandwidth-bound kernels at other block sizes and warps.

    PYTHONPATH=. python3 benchmarks/gpu_sweep.py [--json FILE]

The kernels are the committed, generated ones, launched directly with other values of
their launch parameters (BLOCK / BLOCK_V and num_warps), at the sizes of benchmarks/gpu.py,
beside a 1 GiB device-to-device copy. The output of each variant is checked against the
launcher's before it is timed. What this finds goes back into the code generator's choices;
it changes nothing by itself.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gpu_common import DEVICE, write_json  # noqa: E402 (beside this file)
from symnet.kernels import load_kernel  # noqa: E402


def main(argv=None) -> int:
    import argparse
    import triton
    import triton.testing
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json")
    args = p.parse_args(argv)
    if DEVICE != "cuda":
        p.error("needs a GPU")
    time_ms = lambda fn: float(triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median"))  # noqa: E731
    src = torch.empty(1 << 30, dtype=torch.uint8, device=DEVICE)
    dst = torch.empty_like(src)
    copy = 2 * src.numel() / time_ms(lambda: dst.copy_(src)) / 1e6
    src = dst = None  # free the copy buffers
    rows, lines = [], [f"{torch.cuda.get_device_name()}, copy {copy:.0f} GB/s"]

    # sigmoid+MSE, 64M float32, reduction="sum": read z, y; write dz
    S = load_kernel("sigmoid_mse", "triton")
    n = 64 * 2 ** 20
    z, y = torch.randn(n, device=DEVICE) * 3, torch.rand(n, device=DEVICE)
    _, want = S.sigmoid_mse(z, y, reduction="sum")
    for block in (1024, 2048, 4096, 8192):
        for warps in (4, 8, 16):
            blocks = triton.cdiv(n, block)
            partial = torch.empty(blocks, device=DEVICE)
            dz = torch.full_like(z, float("nan"))

            def go(block=block, warps=warps, blocks=blocks, partial=partial, dz=dz):
                S._sigmoid_mse_kernel[(blocks,)](z, y, partial, dz, partial, n, WRITE_VALUE=False, REDUCE=True,
                                                 F64=False, BLOCK=block, num_warps=warps)
            go()
            ok = bool(torch.allclose(dz, want, rtol=1e-6, atol=1e-7))
            ms = time_ms(go)
            gbs = 3 * n * 4 / ms / 1e6
            rows.append({"kernel": "sigmoid_mse", "BLOCK": block, "num_warps": warps, "ms": ms, "GB/s": gbs, "ok": ok})
            lines.append(f"sigmoid_mse 64M f32  BLOCK={block:<6} warps={warps:<3} {ms:7.3f} ms "
                         f"{gbs:6.0f} GB/s {gbs / copy:.2f}× copy{'' if ok else '  WRONG'}")
    z = y = want = None
    torch.cuda.empty_cache()

    # softmax cross-entropy, loss and gradient: read logits, write the gradient
    CE = load_kernel("softmax_cross_entropy", "triton")
    for N, V, dtype in ((8192, 32000, torch.float32), (8192, 32000, torch.bfloat16), (4096, 128256, torch.bfloat16)):
        zz = (torch.randn(N, V, device=DEVICE) * 2).to(dtype)
        r = torch.randint(0, V, (N,), device=DEVICE)
        _, want = CE.softmax_cross_entropy_grad(zz, r)
        loss = torch.empty(N, device=DEVICE)
        scale = torch.full((), 1.0 / N, device=DEVICE)
        for block in (2048, 4096, 8192, 16384):
            for warps in (4, 8, 16):
                dz = torch.full_like(zz, float("nan"))

                def go(block=block, warps=warps, dz=dz):
                    CE._softmax_cross_entropy_grad_kernel[(N,)](zz, r, loss, dz, scale, V, zz.stride(0), -100,
                                                                F64=False, BLOCK_V=block, num_warps=warps)
                go()
                ok = bool(torch.allclose(dz.float(), want.float(), rtol=1e-3, atol=1e-6))
                ms = time_ms(go)
                gbs = 2 * N * V * zz.element_size() / ms / 1e6
                rows.append({"kernel": f"ce_{str(dtype)[6:]}_{N}x{V}", "BLOCK_V": block, "num_warps": warps,
                             "ms": ms, "GB/s": gbs, "ok": ok})
                lines.append(f"CE {str(dtype)[6:]:8} {N}x{V:<6} BLOCK_V={block:<6} warps={warps:<3} {ms:7.3f} ms "
                             f"{gbs:6.0f} GB/s {gbs / copy:.2f}× copy{'' if ok else '  WRONG'}")
        zz = want = dz = None
        torch.cuda.empty_cache()
    print("\n".join(lines))
    write_json(args.json, {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
                           "triton": triton.__version__, "copy_GB/s": copy, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
