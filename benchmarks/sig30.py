"""Candidates for a float32 σ more exact than NumPy's float32 exp allows (session 30, h-sig30), measured side by side.

NumPy's float32 np.exp is its SIMD approximation (up to 2.35 ULP off on this box's AVX2); its float64 exp is libm's,
3–4× slower. Each candidate below computes the sigmoid kernel's two outputs, σ(z) and σ′(z), over blocks of 16,384
float32 values as kernels/numpy/sigmoid.py does; ``table`` candidates take e^(−j/64) from a table and e^(−d/64) − 1
(64|z| = j + d, both exact, |d| ≤ 1/2) by three Taylor terms. These are measurements, not generated code: the one that
landed (the training kernels' ``_logistic``, ``exp_f64``'s E/(1 + E)) is generated from
symnet/codegen/families/dense.py.

    python benchmarks/sig30.py [--n 1000000] [--repeat 5] [--rounds 7] [--points 4000000]

Times: CPU ms of one call on z ~ N(0, 3), median over rounds of the min of ``--repeat`` (the candidates taking turns).
Accuracy: worst ULPs against the float64 formula (itself within 2⁻²⁹ ULP of float32's) over N(0, 3), U(±30) and U(±110)
points, normal results only, and at −1.9717 / −4.1391 (tests/test_sig28.py's strict xfails; torch 0.31 / 0.18).
Results: benchmarks/results/sig30-2026-12-05.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.cpu_time import cpu  # noqa: E402

M = np.float32(12582912.0)  # 1.5·2²³: t + M rounds t to an integer, held in its low bits
MB = M.view(np.int32)
N = 64
TAB64 = np.exp(-np.arange(104 * N + 1) / N)  # e^(−j/64), j = 0 … 6656
T32 = TAB64.astype(np.float32)
T32_LO = (TAB64 - T32).astype(np.float32)
TABS = np.exp(-np.arange(-104 * N, 104 * N + 1) / N)  # e^(−j/64), j = −6656 … 6656
C1, C2, C3 = np.float32(-1 / N), np.float32(1 / (2 * N * N)), np.float32(-1 / (6 * N ** 3))
BLOCK = 16384


def _reduce(t):
    """64|z| (or 64z) clamped, as j (the table row) and d = t − j, both exact; q = e^(−d/64) − 1 in float32."""
    s = t + M
    d = s - M
    np.subtract(t, d, out=d)
    j = s.view(np.int32)
    j -= MB
    q = d * C3
    q += C2
    q *= d
    q += C1
    q *= d
    return j, q


def _e_table32(z, lo):
    """e^−|z| in float32 from the float32 table (``lo``: with its rounding error as a second table)."""
    a = np.abs(z)
    np.minimum(a, np.float32(104), out=a)
    a *= np.float32(N)
    j, q = _reduce(a)
    e = np.take(T32, j, mode="clip")
    q *= e
    if lo:
        q += np.take(T32_LO, j, mode="clip")
    q += e
    return q


def numpy_exp(z):
    """The sigmoid kernel as generated: E = np.exp(−|z|) float32, r = 1/(1 + E), σ = {r; E·r}, σ′ = r·E·r."""
    e = np.exp(-np.abs(z))
    r = 1 / (1 + e)
    n = e * r
    return np.maximum(n, np.minimum(r, z >= 0)), r * n


def table32(z):
    """E from the float32 table only; the rest as generated."""
    e = _e_table32(z, False)
    r = 1 / (1 + e)
    n = e * r
    return np.maximum(n, np.minimum(r, z >= 0)), r * n


def table32_lo(z):
    """E from the float32 table and its low part (about 0.5 ULP); the rest as generated."""
    e = _e_table32(z, True)
    r = 1 / (1 + e)
    n = e * r
    return np.maximum(n, np.minimum(r, z >= 0)), r * n


def table32_lo_div(z):
    """As table32_lo, σ(−|z|) = E/(1 + E) by one division (not E·r)."""
    e = _e_table32(z, True)
    s = 1 + e
    r = 1 / s
    n = e / s
    return np.maximum(n, np.minimum(r, z >= 0)), r * n


def table_f64(z):
    """E = e^−|z| in float64 (float64 table × (1 + q)); r, E·r, the select and r·E·r in float64, rounded once."""
    a = np.abs(z)
    np.minimum(a, np.float32(104), out=a)
    a *= np.float32(N)
    j, q = _reduce(a)
    e = np.take(TAB64, j, mode="clip")
    q64 = q.astype(np.float64)
    q64 *= e
    e += q64
    r = 1 / (1 + e)
    n = e * r
    return np.maximum(n, np.minimum(r, z >= 0)).astype(np.float32), (r * n).astype(np.float32)


def signed_f64(z):
    """G = e^−z from the signed float64 table (no |z|, no select): σ = 1/(1 + G), σ′ = σ·(G·σ), float64, rounded
    once."""
    t = np.clip(z, np.float32(-104), np.float32(104))
    t *= np.float32(N)
    j, q = _reduce(t)
    j += 104 * N
    g = np.take(TABS, j, mode="clip")
    q64 = q.astype(np.float64)
    q64 *= g
    g += q64
    s = g + 1
    np.divide(1, s, out=s)
    g *= s
    g *= s
    return s.astype(np.float32), g.astype(np.float32)


def exp_f64(z):
    """E = e^z by NumPy's float64 exp (z clamped to 709), σ = E/(1 + E), σ′ = σ/(1 + E), float64, rounded once
    (``_logistic``'s landed scheme)."""
    e = np.minimum(z, 709.0, dtype=np.float64)
    np.exp(e, out=e)
    s = e + 1.0
    np.divide(e, s, out=e)
    np.divide(e, s, out=s)
    return e.astype(np.float32), s.astype(np.float32)


CANDIDATES = {"numpy exp (generated)": numpy_exp, "table32": table32, "table32+lo": table32_lo,
              "table32+lo, E/(1+E)": table32_lo_div, "table f64 + f64 pair": table_f64,
              "signed table f64": signed_f64,
              "float64 exp, E/(1+E) (_logistic's)": exp_f64}


def blocked(fn):
    def run(z):
        a, b = np.empty(z.shape, np.float32), np.empty(z.shape, np.float32)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for i in range(0, len(z), BLOCK):
                a[i:i + BLOCK], b[i:i + BLOCK] = fn(z[i:i + BLOCK])
        return a, b
    return run


def ulps(got, exact):
    want = exact.astype(np.float32)
    spacing = np.maximum(np.spacing(np.abs(want)).astype(np.float64), 2.0 ** -149)
    return np.abs(got.astype(np.float64) - exact) / spacing


def timings(runs: dict, z, rounds: int, repeat: int) -> dict:
    """CPU ms of one call of each candidate on ``z``: the median over ``rounds`` of the min of ``repeat`` calls, the
    candidates taking turns, so that a slow spell of the shared box falls on all of them."""
    best = {k: [] for k in runs}
    for _ in range(rounds):
        for k, fn in runs.items():
            fn(z)
            times = []
            for _ in range(repeat):
                t0 = cpu()
                fn(z)
                times.append(cpu() - t0)
            best[k].append(min(times) * 1e3)
    return {k: statistics.median(v) for k, v in best.items()}


def print_rows(runs: dict, ms: dict, base: str, x) -> None:
    """One table row per candidate: its time against ``base``'s, and its worst ULPs against the float64 formula over
    ``x`` (normal results only), then at x[−2] (σ) and x[−1] (σ′): test_sig28's points."""
    w = x.astype(np.float64)
    e = np.exp(-np.abs(w))
    s_ref = np.where(w >= 0, 1 / (1 + e), e / (1 + e))
    d_ref = e / (1 + e) ** 2
    for k, fn in runs.items():
        s, d = fn(x)
        es, ed = ulps(s, s_ref), ulps(d, d_ref)
        ns, nd = s_ref >= 2.0 ** -126, d_ref >= 2.0 ** -126
        print(f"| {k} | {ms[k]:.2f} | {ms[k] / ms[base]:.2f}× | {es[ns].max():.2f} | {ed[nd].max():.2f} | "
              f"{es[-2]:.2f} | {ed[-1]:.2f} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--points", type=int, default=4_000_000)
    args = p.parse_args(argv)
    rng = np.random.default_rng(28)
    z = (rng.standard_normal(args.n) * 3).astype(np.float32)
    runs = {k: blocked(f) for k, f in CANDIDATES.items()}
    ms = timings(runs, z, args.rounds, args.repeat)
    rng = np.random.default_rng(7)
    n = args.points
    x = np.concatenate([rng.normal(0, 3, n // 2), rng.uniform(-30, 30, n // 4), rng.uniform(-110, 110, n // 4),
                        [-1.97165846824646, -4.139065742492676]]).astype(np.float32)
    print(f"float32 sigmoid kernel, {args.n:,} values: CPU ms (median of {args.rounds} rounds' min of {args.repeat}); "
          f"worst ULP over {len(x) - 2:,} points against float64")
    print("| candidate | ms | × generated | σ worst | σ′ worst | σ at −1.9717 | σ′ at −4.1391 |")
    print("|---|---|---|---|---|---|---|")
    print_rows(runs, ms, "numpy exp (generated)", x)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
