"""float32 e^x on the GPU (h-cells26): Triton's tl.exp (symnet's float32 lowering), the same in float64 rounded once
(what the NumPy printer does for a float32 block since session 26), and torch.exp, worst error in ULPs against
torch's float64 exp (within 1 ULP of float64, 2⁻²⁹ of a float32 ULP) over every 64th float32 in [−87.3, 88.7] and
the subnormal range down to −103, and time per call of 2²⁶ values (median of 20, CUDA events).

    python benchmarks/gpu_exp26.py
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _exp32(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + i, mask=i < n)
    tl.store(out_ptr + i, tl.exp(x), mask=i < n)


@triton.jit
def _exp64(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + i, mask=i < n)
    tl.store(out_ptr + i, tl.exp(x.to(tl.float64)).to(tl.float32), mask=i < n)


def ulps(got: torch.Tensor, x: torch.Tensor) -> tuple[float, float]:
    """The worst error in float32 ULPs where the true value is a normal float32, and the x where it is."""
    true = torch.exp(x.double())
    normal = (true >= torch.finfo(torch.float32).tiny) & (true <= torch.finfo(torch.float32).max)
    rounded = true.float()
    spacing = (torch.nextafter(rounded.abs(), torch.tensor(float("inf"), device=x.device)) - rounded.abs()).double()
    err = torch.where(normal, (got.double() - true).abs() / spacing, torch.zeros_like(true))
    k = int(err.argmax())
    return float(err[k]), float(x[k])


def main() -> None:
    dev = "cuda"
    hi = torch.tensor(88.7).view(torch.int32).item()
    # every 64th float32 between −87.3 and 88.7 by bit pattern: positive and negative halves
    pos_bits = torch.arange(0, hi, 64, device=dev, dtype=torch.int64).to(torch.int32)
    neg_top = torch.tensor(-87.3).view(torch.int32).item() & 0x7FFFFFFF
    neg_bits = (torch.arange(0, neg_top, 64, device=dev, dtype=torch.int64) | 0x80000000).to(torch.int64)
    neg_bits = torch.where(neg_bits >= 2**31, neg_bits - 2**32, neg_bits).to(torch.int32)
    x = torch.cat([pos_bits.view(torch.float32), neg_bits.view(torch.float32),
                   torch.linspace(-103.0, -87.3, 1 << 20, device=dev)])
    out = torch.empty_like(x)
    n, block = x.numel(), 1024
    grid = (triton.cdiv(n, block),)
    rows = {}
    _exp32[grid](x, out, n, BLOCK=block)
    rows["triton tl.exp (float32)"] = ulps(out, x)
    _exp64[grid](x, out, n, BLOCK=block)
    rows["triton float64, rounded once"] = ulps(out, x)
    rows["torch.exp (float32)"] = ulps(torch.exp(x), x)
    print(f"{n} points; device {torch.cuda.get_device_name()}; torch {torch.__version__}, triton {triton.__version__}")
    print("| lowering | worst ULP (normal results) | at x |")
    print("|---|---|---|")
    for k, (e, at) in rows.items():
        print(f"| {k} | {e:.3f} | {at!r} |")
    big = torch.randn(1 << 26, device=dev) * 20
    o = torch.empty_like(big)
    g = (triton.cdiv(big.numel(), block),)
    for name, fn in (("triton tl.exp (float32)", lambda: _exp32[g](big, o, big.numel(), BLOCK=block)),
                     ("triton float64, rounded once", lambda: _exp64[g](big, o, big.numel(), BLOCK=block)),
                     ("torch.exp (float32)", lambda: torch.exp(big, out=o))):
        times = []
        for _ in range(22):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            torch.cuda.synchronize()
            times.append(s.elapsed_time(e))
        times = sorted(times[2:])
        ms = times[len(times) // 2]
        print(f"{name}: {ms:.3f} ms per 2^26 values ({8 * big.numel() / ms / 1e6:.0f} GB/s)")


if __name__ == "__main__":
    main()
