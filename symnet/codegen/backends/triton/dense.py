"""The dense Triton skeleton: layer formulas as tiled matrix products with fused epilogues.

From a :class:`~symnet.codegen.families.dense.LayerKernel` (the index-form derivation of a layer):

- a **forward** output ``F(b_i + Σ_k W_ik a_k + Σ_d U_id x_d + …)`` becomes one kernel over
  (batch × outputs) tiles: each contraction is a ``tl.dot`` loop into its own float32
  accumulator, then the epilogue — the bias and the activation, printed from the formula —
  runs on the tile in registers before the one store;
- a **backward** kernel's named step (``δ_i = g_i·y_i(1 − y_i)``) is never stored: every
  matrix product that reads δ computes it from y and g as it loads each tile, so the
  activation derivative is fused into the backward matmuls. ``∂C/∂W = δᵀa`` (summed over
  the batch) carries ``∂C/∂b = Σ δ`` in the same pass; ``∂C/∂a = δ W`` is another.

Tile sizes are autotuned on a GPU (a small fixed set under the interpreter). float32
products use IEEE float32 (no TF32), so the generated gradients match the NumPy ones;
bfloat16/float16 inputs multiply natively and accumulate in float32.

For 16-bit inputs on Hopper each forward also gets a **persistent TMA** kernel (one
program per SM takes the tiles in turn; tiles move by TMA descriptors), with the same
epilogue printed from the same formula. Its launcher measures both kernels once per shape
and keeps the faster one.
"""
from __future__ import annotations

from typing import NamedTuple

import sympy as sp

from ....errors import SymnetError
from ....render import text
from ...families.dense import LayerKernel
from .elementwise import HOST_HELPERS, assemble
from ...doubleword import generated_last
from .printer import TRITON_HELPERS, TritonPrinter

__all__ = ["emit_triton_layer_module"]

CONFIGS = '''\
_GPU_CONFIGS = [triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk}, num_warps=w, num_stages=s)
                for bm, bn, bk, w, s in ((128, 128, 64, 8, 3), (128, 256, 64, 8, 3), (256, 128, 64, 8, 3),
                                         (128, 256, 64, 8, 4), (256, 128, 64, 8, 4), (128, 128, 64, 8, 4),
                                         (64, 128, 64, 4, 4), (128, 64, 32, 4, 4), (64, 64, 32, 4, 4),
                                         (32, 32, 32, 4, 2))]
if os.environ.get("TRITON_INTERPRET") == "1":  # the interpreter runs every config: keep one, small
    _CONFIGS = [triton.Config({"BLOCK_M": 32, "BLOCK_N": 32, "BLOCK_K": 16})]
else:
    _CONFIGS = _GPU_CONFIGS


def _fitting(rows, cols):
    """The autotuner's first cut: no tile wider than the problem (rows × cols, padded to a power of
    two) where a smaller one covers it; float64 tiles at most 64 × 64 and float32 ones (IEEE: no
    tensor cores, the products summed in registers) at most 128 × 128, because larger ones spill
    (2.4 KB a thread for float32 at 128 × 256) or want more shared memory than an SM has: ptxas's
    report, benchmarks/sm90_compile.py. The bfloat16 benchmark keeps every config; a 37×19 layer
    keeps one, which saves the compiles of the others."""
    def prune(configs, named_args, **kwargs):
        R, C = (max(16, triton.next_power_of_2(int(named_args[d]))) for d in (rows, cols))
        dtypes = {getattr(v, "dtype", None) for v in named_args.values()}
        most = 64 * 64 if torch.float64 in dtypes else 128 * 128 if torch.float32 in dtypes else None
        kept = [c for c in configs
                if (c.kwargs["BLOCK_M"] <= R or c.kwargs["BLOCK_M"] == 32)
                and (c.kwargs["BLOCK_N"] <= C or c.kwargs["BLOCK_N"] == 32)
                and (most is None or c.kwargs["BLOCK_M"] * c.kwargs["BLOCK_N"] <= most)]
        return kept or configs[-1:]
    return {"early_config_prune": prune}
'''

HOST = '''\
def _matrix(name, x, dims, like=None):
    """A tensor with the given sizes (None: any), checked by name; contiguous (a view is copied: the
    kernels index every matrix as row-major with its own column count)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"argument {name!r} must be a torch.Tensor, not {type(x).__name__}")
    if x.dtype not in (torch.float32, torch.float64, torch.bfloat16, torch.float16):
        raise TypeError(f"argument {name!r} has dtype {x.dtype}; the kernel takes float32, float64, bfloat16 or float16")
    if x.dim() != len(dims) or any(d is not None and s != d for s, d in zip(x.shape, dims)):
        want = "(" + ", ".join("·" if d is None else str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
        raise ValueError(f"argument {name!r} has shape {tuple(x.shape)}, expected {want}")
    if like is None:
        _device_ok(name, x)
    else:
        if x.dtype != like.dtype:
            raise TypeError(f"argument {name!r} is {x.dtype} but the inputs are {like.dtype}")
        if x.device != like.device:
            raise ValueError(f"argument {name!r} is on {x.device} but the inputs are on {like.device}")
    return x.contiguous()
'''

TMA_HOST = '''\
def _tma_configs(boxes):
    """Tiles of the persistent TMA kernels; ``boxes`` sets each descriptor's box to a config's tile
    (a pre-hook: the autotuner calls it before each trial and before the run). SPLIT stores the
    output tile in two halves, which halves the shared memory that stages it: on sm_90, 3 stages
    of a 128 × 256 tile with 64-deep k-slices and the whole output tile take 208 KB of the 227 KB
    an SM has, 4 stages and half the tile 224 KB (benchmarks/results/sm90-compile-*.txt)."""
    if os.environ.get("TRITON_INTERPRET") == "1":
        return [triton.Config({"BLOCK_M": 32, "BLOCK_N": 32, "BLOCK_K": 16, "SPLIT": True}, pre_hook=boxes)]
    return [triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "SPLIT": split}, num_warps=w, num_stages=s,
                          pre_hook=boxes)
            for bm, bn, bk, w, s, split in ((128, 256, 64, 8, 3, False), (128, 256, 64, 8, 4, True),
                                            (128, 128, 64, 8, 4, False), (128, 128, 64, 4, 4, False),
                                            (128, 128, 128, 8, 3, False), (64, 128, 64, 4, 4, False))]


def _has_tma(device):
    """Whether the device has the tensor memory accelerator: a GPU of compute capability 9.0 or later."""
    return device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 9


def _tma_ok(*xs):
    """Whether TMA can move these matrices: 16-bit entries, none empty, bases and rows on 16-byte
    boundaries."""
    return xs[0].element_size() == 2 and _has_tma(xs[0].device) and all(
        t.numel() and t.data_ptr() % 16 == 0 and t.stride(0) * t.element_size() % 16 == 0 for t in xs)


def _programs(device):
    """A persistent kernel's programs: one per SM (4 under the interpreter, so they loop)."""
    if device.type != "cuda":
        return 4
    return torch.cuda.get_device_properties(device).multi_processor_count


def _descriptor(x):
    """A TMA descriptor of matrix x; its box (tile) is set per config by the kernel's pre-hook."""
    return TensorDescriptor.from_tensor(x, [1] * x.dim())


_FASTER = {}  # (kernel, sizes, dtype, device) → {launch: its time in ms}, measured on the first call
_FAILED = {}  # (key, launch) → the error of a launch that could not run there (it is never taken)


def _faster(key, launches):
    """Run the launch that is faster for this key. The first call per key measures each (after
    the autotuner has chosen its tiles) with triton.testing.do_bench and keeps the faster: the
    persistent TMA kernel is taken only where a GPU measured it ahead of the tiled one, the first
    launch named. Like any autotuning, that first call must not be inside a CUDA graph capture."""
    if key not in _FASTER:
        times = {}
        for name, launch in launches.items():
            try:
                times[name] = triton.testing.do_bench(launch)
            except Exception as exc:  # noqa: BLE001 - the first launch must run; another may be left out
                if not times:
                    raise
                _FAILED[key, name] = exc
                times[name] = float("inf")
        _FASTER[key] = times
    times = _FASTER[key]
    launches[min(times, key=times.get)]()
'''


PROLOGUE = [
    "F64: tl.constexpr", "BLOCK_M: tl.constexpr", "BLOCK_N: tl.constexpr", "BLOCK_K: tl.constexpr",
]


class _TilePrinter(TritonPrinter):
    """Entries of a layer formula as tiles: names[(base, layout)] gives each Indexed's tile."""

    EXACT_SUMS = False  # its sums as written (ConditionalPrinting._exact_sum_terms: the elementwise kernels')
    REFUSED = (sp.Derivative, sp.Integral, sp.MatrixBase)

    def __init__(self, tiles: dict, helpers: set):
        super().__init__({}, helpers, constant_dtype="acc_t")  # constants in the accumulator's dtype
        self.tiles = tiles

    def _print_Indexed(self, e):
        try:
            return self.tiles[e]
        except KeyError:
            raise SymnetError(f"the dense skeleton has no tile for {text(e)} here") from None

    def _print_Sum(self, e):
        try:
            return self.tiles[e]
        except KeyError:
            raise SymnetError(f"the dense skeleton cannot generate the sum {text(e)} here") from None


def _contraction(s: sp.Sum, args: dict):
    """Σ_k P_ik q_k → (matrix argument P, vector argument q, the summed index k), or None."""
    ((k, _, _),) = s.limits
    factors = sp.Mul.make_args(s.function)
    if len(factors) != 2 or not all(isinstance(f, sp.Indexed) for f in factors):
        return None
    mat = [f for f in factors if len(f.indices) == 2 and f.indices[1] == k and not args[f.base].batched]
    vec = [f for f in factors if len(f.indices) == 1 and f.indices[0] == k and args[f.base].batched]
    if len(mat) != 1 or len(vec) != 1:
        return None
    return mat[0], vec[0], k


def _load_rows(ptr: str, rows: str, cols: str, nrows: str, ncols: str, other: str = "0.0") -> str:
    """A (rows × cols) tile of a row-major matrix with ncols columns."""
    return (f"tl.load({ptr} + {rows}[:, None].to(tl.int64) * {ncols} + {cols}[None, :], "
            f"mask=({rows}[:, None] < {nrows}) & ({cols}[None, :] < {ncols}), other={other})")


class _Forward(NamedTuple):
    """What both forward kernels and their launcher are built from."""
    out: object  # the output (its formula)
    plans: list  # (Σ, weight matrix argument P, batched argument v, summed index) per contraction
    vectors: list  # the per-output vector arguments (biases)
    operands: list  # the matrix arguments, each once, v then P contraction by contraction


def _forward(kernel: LayerKernel) -> _Forward:
    (out,) = kernel.outputs
    args = {a.base: a for a in kernel.args}
    plans = []
    for s in sorted(out.expr.atoms(sp.Sum), key=sp.default_sort_key):
        c = _contraction(s, args)
        if c is None:
            raise SymnetError(f"{kernel.name}: the dense skeleton multiplies a weight matrix by a batched "
                              f"vector, not {text(s)}")
        mat, vec, k = c
        plans.append((s, args[mat.base], args[vec.base], k))
    vectors = [a for a in kernel.args if not a.batched and len(a.indices) == 1]
    operands = list({a.name: a for _, P, v, _ in plans for a in (v, P)}.values())
    return _Forward(out, plans, vectors, operands)


def _epilogue(f: _Forward, helpers: set, acc_t: str, indent: str) -> list[str]:
    """The bias tiles and the output's formula over the accumulators acc0, acc1, … of the tile in
    registers (rn: its output columns): printed alike for both forward kernels."""
    (i,) = f.out.indices
    tiles = {s: f"acc{q}" for q, (s, *_) in enumerate(f.plans)}
    lines = []
    for a in f.vectors:
        lines.append(f"{indent}{a.name}_t = tl.load({a.name}_ptr + rn, mask=rn < N, other=0.0).to({acc_t})[None, :]")
        tiles[a.base[i]] = f"{a.name}_t"
    return lines + [f"{indent}# {f.out.meaning} = {text(f.out.expr)}",
                    f"{indent}{f.out.name} = {_TilePrinter(tiles, helpers).doprint(f.out.expr)}"]


def emit_forward(kernel: LayerKernel, helpers: set) -> str:
    helpers.add("_tile_of")
    f = _forward(kernel)
    out = f.out
    name = f"_{kernel.name}_kernel"
    ptrs = [f"{a.name}_ptr" for a in kernel.args] + [f"{out.name}_ptr"]
    sizes = ["M", "N"] + [f"K{q}" for q in range(len(f.plans))]
    L = ["@triton.autotune(configs=_CONFIGS, key=[" + ", ".join(f'"{s}"' for s in sizes)
         + "], prune_configs_by=_fitting(\"M\", \"N\"))",
         "@triton.jit",
         f"def {name}({', '.join(ptrs + sizes + ['PRECISION: tl.constexpr', 'UPCAST: tl.constexpr'] + PROLOGUE)}):",
         f'    """{kernel.formula}: one (BLOCK_M examples × BLOCK_N outputs) tile per program."""',
         "    tile_m, tile_n = _tile_of(tl.program_id(0), M, N, BLOCK_M, BLOCK_N)",
         "    rm = tile_m * BLOCK_M + tl.arange(0, BLOCK_M)  # examples",
         "    rn = tile_n * BLOCK_N + tl.arange(0, BLOCK_N)  # outputs i",
         "    acc_t: tl.constexpr = tl.float64 if F64 else tl.float32"]
    for q, (s, P, v, _) in enumerate(f.plans):
        P, v = P.name, v.name
        L += [f"    # {text(s)}: ({v} tile) · ({P} tile)ᵀ, K{q} at a time",
              f"    acc{q} = tl.zeros([BLOCK_M, BLOCK_N], acc_t)",
              f"    for k0 in range(0, K{q}, BLOCK_K):",
              "        rk = k0 + tl.arange(0, BLOCK_K)",
              f"        {v}_t = {_load_rows(f'{v}_ptr', 'rm', 'rk', 'M', f'K{q}')}",
              f"        {P}_t = {_load_rows(f'{P}_ptr', 'rn', 'rk', 'N', f'K{q}')}",
              "        if UPCAST:  # the interpreter's dot of 16-bit tiles is wrong: multiply in float32 there",
              f"            {v}_t, {P}_t = {v}_t.to(tl.float32), {P}_t.to(tl.float32)",
              f"        acc{q} = tl.dot({v}_t, tl.trans({P}_t), acc{q}, input_precision=PRECISION, out_dtype=acc_t)",
              ]
    L += _epilogue(f, helpers, "acc_t", "    ")
    L.append("    mask = (rm[:, None] < M) & (rn[None, :] < N)")
    L.append(f"    tl.store({out.name}_ptr + rm[:, None].to(tl.int64) * N + rn[None, :], "
             f"{out.name}.to({out.name}_ptr.dtype.element_ty), mask=mask)")
    return "\n".join(L) + "\n"


def emit_forward_tma(kernel: LayerKernel, helpers: set) -> str:
    """The same forward as :func:`emit_forward` for 16-bit inputs on Hopper: persistent (one program
    per SM, taking the tiles in turn, so one tile's epilogue overlaps the next one's loads) and fed by
    TMA descriptors (the tensor memory accelerator copies whole tiles to shared memory; out-of-range
    rows and columns read as 0 and are not written)."""
    helpers.add("_tile_of")
    f = _forward(kernel)
    out = f.out
    name = f"_{kernel.name}_tma_kernel"
    params = [f"{a.name}_desc" for a in f.operands] + [f"{a.name}_ptr" for a in f.vectors] + [f"{out.name}_desc"]
    sizes = ["M", "N"] + [f"K{q}" for q in range(len(f.plans))]
    boxes = [f"def _{kernel.name}_boxes(nargs):",
             '    """The TMA boxes of a config: the batched operands BLOCK_M × BLOCK_K, the weights BLOCK_N ×',
             f'    BLOCK_K, {out.name} BLOCK_M × BLOCK_N."""',
             '    bm, bn, bk = nargs["BLOCK_M"], nargs["BLOCK_N"], nargs["BLOCK_K"]']
    for a in f.operands:
        boxes.append(f'    nargs["{a.name}_desc"].block_shape = [{"bm" if a.batched else "bn"}, bk]')
    boxes.append(f'    nargs["{out.name}_desc"].block_shape = [bm, bn // 2 if nargs["SPLIT"] else bn]')
    L = ["\n".join(boxes), "", "",
         "@triton.autotune(configs=_tma_configs(_" + kernel.name + "_boxes), key=["
         + ", ".join(f'"{s}"' for s in sizes) + "], prune_configs_by=_fitting(\"M\", \"N\"))",
         "@triton.jit",
         f"def {name}({', '.join(params + sizes + ['PROGRAMS: tl.constexpr', 'UPCAST: tl.constexpr', 'BLOCK_M: tl.constexpr', 'BLOCK_N: tl.constexpr', 'BLOCK_K: tl.constexpr', 'SPLIT: tl.constexpr'])}):",
         f'    """{kernel.formula}: PROGRAMS programs take the (BLOCK_M × BLOCK_N) tiles in turn."""',
         "    tiles = tl.cdiv(M, BLOCK_M) * tl.cdiv(N, BLOCK_N)",
         "    done = tl.program_id(0) - PROGRAMS  # the tile the epilogue stores, counted apart from t (as in",
         "    # Triton's persistent matmul): the loads of the flattened pipeline do not wait on the stores",
         "    for t in tl.range(tl.program_id(0), tiles, PROGRAMS, flatten=True):",
         "        tile_m, tile_n = _tile_of(t, M, N, BLOCK_M, BLOCK_N)"]
    for q, (s, P, v, _) in enumerate(f.plans):
        P, v = P.name, v.name
        L += [f"        # {text(s)}: ({v} tile) · ({P} tile)ᵀ, K{q} at a time",
              f"        acc{q} = tl.zeros([BLOCK_M, BLOCK_N], tl.float32)",
              f"        for k0 in range(0, K{q}, BLOCK_K):",
              f"            {v}_t = {v}_desc.load([tile_m * BLOCK_M, k0])",
              f"            {P}_t = {P}_desc.load([tile_n * BLOCK_N, k0])",
              "            if UPCAST:  # the interpreter's dot of 16-bit tiles is wrong: multiply in float32 there",
              f"                {v}_t, {P}_t = {v}_t.to(tl.float32), {P}_t.to(tl.float32)",
              f"            acc{q} = tl.dot({v}_t, tl.trans({P}_t), acc{q})"]
    L += ["        done += PROGRAMS",
          "        tile_m, tile_n = _tile_of(done, M, N, BLOCK_M, BLOCK_N)",
          "        rn = tile_n * BLOCK_N + tl.arange(0, BLOCK_N)  # outputs i"]
    L += _epilogue(f, helpers, "tl.float32", "        ")
    L += ["        if SPLIT:  # in two halves of BLOCK_N / 2 columns: half the shared memory stages the store",
          f"            left, right = tl.split(tl.permute(tl.reshape({out.name}, [BLOCK_M, 2, BLOCK_N // 2]), [0, 2, 1]))",
          f"            {out.name}_desc.store([tile_m * BLOCK_M, tile_n * BLOCK_N], left.to({out.name}_desc.dtype))",
          f"            {out.name}_desc.store([tile_m * BLOCK_M, tile_n * BLOCK_N + BLOCK_N // 2], right.to({out.name}_desc.dtype))",
          "        else:",
          f"            {out.name}_desc.store([tile_m * BLOCK_M, tile_n * BLOCK_N], {out.name}.to({out.name}_desc.dtype))"]
    return "\n".join(L) + "\n"


def _checks(kernel: LayerKernel) -> tuple[list[str], dict]:
    size_of: dict = {}
    lines = []
    first = kernel.args[0]
    for a in kernel.args:
        dims = (["B"] if a.batched and "batch" in size_of else ["None"] if a.batched else [])
        dims += [size_of.get(q, "None") for q in a.indices]
        like = "" if a is first else f", {first.name}"
        lines.append(f"{a.name} = _matrix({a.name!r}, {a.name}, ({', '.join(dims)}{',' if len(dims) == 1 else ''}){like})")
        if a.batched and "batch" not in size_of:
            lines.append(f"B = {a.name}.shape[0]")
            size_of["batch"] = "B"
        for pos, q in enumerate(a.indices):
            if q not in size_of:
                size_of[q] = f"{a.name}.shape[{pos + (1 if a.batched else 0)}]"
    return lines, size_of


def emit_forward_launcher(kernel: LayerKernel) -> str:
    f = _forward(kernel)
    out = f.out
    checks, size_of = _checks(kernel)
    (i,) = out.indices
    N = size_of[i]
    Ks = [size_of[k] for *_, k in f.plans]
    doc = [f'    """{kernel.formula}', "", "    Arguments (tensors of one dtype and device; B examples; a view, sliced, offset, transposed",
           "    or expanded, is copied to contiguous memory first, and the outputs are new tensors):"]
    doc += [f"      {a.meaning}" for a in kernel.args]
    doc += ["", f"    Returns {out.name}: {out.meaning} = {text(out.expr)}", "",
            "    The first call for a shape autotunes the tiles; on Hopper, for bfloat16/float16, it also",
            "    times the tiled kernel against the persistent TMA one and keeps the faster (once per",
            "    shape; like any autotuning, not inside a CUDA graph capture).", '    """']
    first = kernel.args[0].name
    upcast = f"UPCAST={first}.element_size() == 2 and os.environ.get(\"TRITON_INTERPRET\") == \"1\""
    operands = [a.name for a in f.operands]
    vectors = [a.name for a in f.vectors]
    tiles = f"triton.cdiv(B, meta[\"BLOCK_M\"]) * triton.cdiv({N}, meta[\"BLOCK_N\"])"
    body = checks + [f"{out.name} = torch.empty(B, {N}, dtype={first}.dtype, device={first}.device)",
                     f"if not (B and {N}):",
                     f"    return {out.name}",
                     "",
                     "def tiled():",
                     f"    grid = lambda meta: ({tiles},)",
                     f"    _{kernel.name}_kernel[grid]({', '.join(a.name for a in kernel.args)}, {out.name}, B, {N}, "
                     f"{', '.join(Ks)},",
                     f"        PRECISION=\"ieee\" if {first}.dtype in (torch.float32, torch.float64) else \"tf32\",  "
                     "# tf32: the default, unused for 16-bit inputs",
                     f"        {upcast}, F64={first}.dtype == torch.float64)",
                     "",
                     "def tma():",
                     f"    programs = _programs({first}.device)",
                     f"    grid = lambda meta: (min(programs, {tiles}),)",
                     f"    _{kernel.name}_tma_kernel[grid]("
                     + ", ".join([f"_descriptor({n})" for n in operands] + vectors + [f"_descriptor({out.name})"])
                     + f", B, {N}, {', '.join(Ks)},",
                     f"        PROGRAMS=programs, {upcast})",
                     "",
                     f"if _tma_ok({', '.join(operands + [out.name])}):  # 16-bit on Hopper: two kernels, the faster kept",
                     f"    _faster(({kernel.name!r}, B, {N}, {', '.join(Ks)}, {first}.dtype, {first}.device), "
                     "{\"tiled\": tiled, \"tma\": tma})",
                     "else:",
                     "    tiled()",
                     f"return {out.name}"]
    return "\n".join([f"def {kernel.name}({', '.join(a.name for a in kernel.args)}):", *doc]
                     + [("    " + b) if b else "" for b in body]) + "\n"


def _is_backward(kernel: LayerKernel) -> bool:
    return bool(kernel.steps) or any(not o.per_example for o in kernel.outputs)


def _steps(kernel: LayerKernel):
    """The named step δ; a backward without one (a linear layer) reads the upstream g as δ."""
    if kernel.steps:
        return kernel.steps
    from ...families.dense import LayerOutput
    upstream = [a for a in kernel.args if a.batched and a.name == "g"]
    if len(upstream) != 1:
        raise SymnetError(f"{kernel.name}: a backward kernel needs a named step δ or an upstream gradient g")
    (g,) = upstream
    return ((g.base, LayerOutput("delta", g.indices, g.base[g.indices], "δ_i = g_i (no activation)")),)


def _classify(kernel: LayerKernel):
    """The backward outputs: ('outer', P) Σ_batch δᵀ·arg; ('sum',) Σ_batch δ; ('back', W) δ·W."""
    args = {a.base: a for a in kernel.args}
    ((step_base, step),) = _steps(kernel)
    plans = []
    for o in kernel.outputs:
        e = o.expr
        if not o.per_example and e == step_base[o.indices[0]] and len(o.indices) == 1:
            plans.append((o, "sum", None))
        elif not o.per_example and e.is_Mul and len(o.indices) == 2:
            factors = sp.Mul.make_args(e)
            other = [f for f in factors if isinstance(f, sp.Indexed) and f.base != step_base]
            if len(factors) != 2 or len(other) != 1 or not args[other[0].base].batched:
                raise SymnetError(f"{kernel.name}: cannot generate {o.name} = {text(e)} as δᵀ·(batched argument)")
            plans.append((o, "outer", args[other[0].base]))
        elif o.per_example and isinstance(e, sp.Sum):
            body = e.function
            factors = sp.Mul.make_args(body)
            mats = [f for f in factors if isinstance(f, sp.Indexed) and f.base != step_base]
            if len(factors) != 2 or len(mats) != 1:
                raise SymnetError(f"{kernel.name}: cannot generate {o.name} = {text(e)} as δ·W")
            plans.append((o, "back", args[mats[0].base]))
        else:
            raise SymnetError(f"{kernel.name}: the dense skeleton cannot generate {o.name} = {text(e)}")
    return step_base, step, plans


def emit_backward(kernel: LayerKernel, helpers: set) -> tuple[str, list]:
    helpers.add("_tile_of")
    """One kernel per matrix product; each computes δ from its inputs as it loads them."""
    step_base, step, plans = _classify(kernel)
    (i,) = step.indices
    step_args = sorted({x.base for x in step.expr.atoms(sp.Indexed)}, key=str)
    args = {a.base: a for a in kernel.args}
    outer = [p for p in plans if p[1] == "outer"]
    total = [p for p in plans if p[1] == "sum"]
    back = [p for p in plans if p[1] == "back"]
    pieces, launches = [], []
    step_ptrs = [f"{args[b].name}_ptr" for b in step_args]

    def delta(rows, cols, nrows, ncols, transposed=False):
        """Lines loading the step's inputs as (rows × cols) tiles and forming δ there."""
        tiles = {}
        lines = []
        for b in step_args:
            a = args[b]
            tile = (_load_rows(f"{a.name}_ptr", cols, rows, ncols, nrows) + ".to(acc_t)") if transposed else \
                (_load_rows(f"{a.name}_ptr", rows, cols, nrows, ncols) + ".to(acc_t)")
            if transposed:
                tile = f"tl.trans({tile})"
            lines.append(f"{a.name}_t = {tile}")
            tiles[b[i]] = f"{a.name}_t"
        printer = _TilePrinter(tiles, helpers)
        lines.append(f"# {step.meaning} = {text(step.expr)}, from the tiles: never stored")
        lines.append(f"{step.name} = {printer.doprint(step.expr)}")
        return lines

    for index, (o, kind, arg) in enumerate(outer):
        name = f"_{kernel.name}_{o.name}_kernel"
        with_sum = index == 0 and total
        sum_out = total[0][0] if with_sum else None
        ptrs = step_ptrs + [f"{arg.name}_ptr", f"{o.name}_ptr"] + ([f"{sum_out.name}_ptr"] if with_sum else [])
        L = ["@triton.autotune(configs=_CONFIGS, key=[\"N\", \"K\", \"B\"], prune_configs_by=_fitting(\"N\", \"K\"))",
             "@triton.jit",
             f"def {name}({', '.join(ptrs + ['B', 'N', 'K'] + PROLOGUE)}):",
             f'    """{o.meaning} = {text(o.expr)}, summed over the batch: δᵀ·{arg.name}'
             + (f"; and {sum_out.meaning} = Σ_batch δ" if with_sum else "") + '."""',
             "    tile_n, tile_k = _tile_of(tl.program_id(0), N, K, BLOCK_M, BLOCK_N)",
             "    rn = tile_n * BLOCK_M + tl.arange(0, BLOCK_M)  # rows i of the result",
             "    rk = tile_k * BLOCK_N + tl.arange(0, BLOCK_N)  # its columns",
             "    acc_t: tl.constexpr = tl.float64 if F64 else tl.float32",
             "    acc = tl.zeros([BLOCK_M, BLOCK_N], acc_t)"]
        if with_sum:
            L.append("    total = tl.zeros([BLOCK_M], acc_t)")
        L += ["    for b0 in range(0, B, BLOCK_K):  # the batch, BLOCK_K examples at a time",
              "        rb = b0 + tl.arange(0, BLOCK_K)"]
        L += ["        " + x for x in delta("rn", "rb", "N", "B", transposed=True)]
        L += [f"        {arg.name}_t = {_load_rows(f'{arg.name}_ptr', 'rb', 'rk', 'B', 'K')}.to(acc_t)",
              f"        acc = tl.dot({step.name}.to(acc_t), {arg.name}_t, acc, input_precision=\"ieee\", out_dtype=acc_t)"]
        if with_sum:
            L.append(f"        total += tl.sum({step.name}, axis=1)")
        L += ["    mask = (rn[:, None] < N) & (rk[None, :] < K)",
              f"    tl.store({o.name}_ptr + rn[:, None].to(tl.int64) * K + rk[None, :], "
              f"acc.to({o.name}_ptr.dtype.element_ty), mask=mask)"]
        if with_sum:
            L += ["    if tile_k == 0:  # one column of programs writes ∂C/∂b",
                  f"        tl.store({sum_out.name}_ptr + rn, total.to({sum_out.name}_ptr.dtype.element_ty), mask=rn < N)"]
        pieces.append("\n".join(L) + "\n")
        launches.append((name, o, kind, arg, sum_out))
    for o, kind, mat in back:
        name = f"_{kernel.name}_{o.name}_kernel"
        ptrs = step_ptrs + [f"{mat.name}_ptr", f"{o.name}_ptr"]
        L = ["@triton.autotune(configs=_CONFIGS, key=[\"B\", \"N\", \"K\"], prune_configs_by=_fitting(\"B\", \"K\"))",
             "@triton.jit",
             f"def {name}({', '.join(ptrs + ['B', 'N', 'K'] + PROLOGUE)}):",
             f'    """{o.meaning} = {text(o.expr)}: δ·{mat.name}, one (examples × columns) tile per program."""',
             "    tile_m, tile_k = _tile_of(tl.program_id(0), B, K, BLOCK_M, BLOCK_N)",
             "    rm = tile_m * BLOCK_M + tl.arange(0, BLOCK_M)  # examples",
             "    rk = tile_k * BLOCK_N + tl.arange(0, BLOCK_N)  # columns k",
             "    acc_t: tl.constexpr = tl.float64 if F64 else tl.float32",
             "    acc = tl.zeros([BLOCK_M, BLOCK_N], acc_t)",
             "    for i0 in range(0, N, BLOCK_K):  # the summed index i",
             "        ri = i0 + tl.arange(0, BLOCK_K)"]
        L += ["        " + x for x in delta("rm", "ri", "B", "N")]
        L += [f"        {mat.name}_t = {_load_rows(f'{mat.name}_ptr', 'ri', 'rk', 'N', 'K')}.to(acc_t)",
              f"        acc = tl.dot({step.name}.to(acc_t), {mat.name}_t, acc, input_precision=\"ieee\", out_dtype=acc_t)",
              "    mask = (rm[:, None] < B) & (rk[None, :] < K)",
              f"    tl.store({o.name}_ptr + rm[:, None].to(tl.int64) * K + rk[None, :], "
              f"acc.to({o.name}_ptr.dtype.element_ty), mask=mask)"]
        pieces.append("\n".join(L) + "\n")
        launches.append((name, o, kind, mat, None))
    return "\n\n".join(pieces), launches, step_args


def emit_backward_launcher(kernel: LayerKernel, launches, step_args) -> str:
    checks, size_of = _checks(kernel)
    args = {a.base: a for a in kernel.args}
    ((_, step),) = _steps(kernel)
    (i,) = step.indices
    N = size_of[i]
    first = kernel.args[0].name
    step_names = [args[b].name for b in step_args]
    doc = [f'    """{kernel.formula}', "", "    Arguments (tensors of one dtype and device; B examples; a view, sliced, offset, transposed",
           "    or expanded, is copied to contiguous memory first, and the outputs are new tensors):"]
    doc += [f"      {a.meaning}" for a in kernel.args]
    doc += ["", f"    Returns ({', '.join(o.name for o in kernel.outputs)}):"]
    doc += [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    doc.append('    """')
    body = list(checks)
    for o in kernel.outputs:
        if len(o.indices) == 2:
            shape = ", ".join(size_of[q] for q in o.indices)
        elif o.per_example:
            shape = f"B, {size_of[o.indices[0]]}"
        else:
            shape = size_of[o.indices[0]]
        alloc = "torch.zeros" if not o.per_example else "torch.empty"  # an empty batch sums to 0
        body.append(f"{o.name} = {alloc}({shape}, dtype={first}.dtype, device={first}.device)")
    body.append("f64 = " + f"{first}.dtype == torch.float64")
    body.append("if B:")
    for name, o, kind, other, sum_out in launches:
        if kind == "outer":
            K = size_of[o.indices[1]]
            extra = f", {sum_out.name}" if sum_out is not None else ""
            # one column of programs at least: it writes the sum over the batch (∂C/∂b) where K = 0
            columns = f"max(triton.cdiv({K}, meta[\"BLOCK_N\"]), 1)" if sum_out is not None \
                else f"triton.cdiv({K}, meta[\"BLOCK_N\"])"
            body += [f"    grid = lambda meta: (triton.cdiv({N}, meta[\"BLOCK_M\"]) * {columns},)",
                     f"    {name}[grid]({', '.join(step_names)}, {other.name}, {o.name}{extra}, B, {N}, {K}, F64=f64)"]
        else:
            K = size_of[o.indices[0]]
            body += [f"    grid = lambda meta: (triton.cdiv(B, meta[\"BLOCK_M\"]) * triton.cdiv({K}, meta[\"BLOCK_N\"]),)",
                     f"    {name}[grid]({', '.join(step_names)}, {other.name}, {o.name}, B, {N}, {K}, F64=f64)"]
    body.append(f"return {', '.join(o.name for o in kernel.outputs)}")
    return "\n".join([f"def {kernel.name}({', '.join(a.name for a in kernel.args)}):", *doc]
                     + ["    " + b for b in body]) + "\n"


def emit_layer_autograd(forward: LayerKernel, backward: LayerKernel) -> str:
    """A torch custom op for the forward kernel whose autograd formula is a second custom op,
    ``<op>_backward``, running the backward kernel: torch.compile and opcheck trace both through
    their fake kernels and never launch Triton on a FakeTensor. The backward op has no
    derivative (a second derivative is a one-line error), and an input without a generated
    gradient that requires grad is an error, never a silent None."""
    (out,) = forward.outputs
    names = [a.name for a in forward.args]
    order = [o.name for o in backward.outputs]
    for o in order:
        if o[1:] not in names:
            raise SymnetError(f"{backward.name}: output {o} is not d<an argument of {forward.name}>")
    saved = [a.name for a in backward.args if a.name != "g"]
    # an f′ that is not a function of f(z) (relu′ = H(z), SiLU′) reads z: recomputed by torch here
    pre = "z" in saved and "z" not in names
    z_line = ("\n        z = a @ W.T" + (" + b" if "b" in names else "") + "  # the pre-activation f′ reads"
              if pre else "")
    kept = names + (["z"] if pre else []) + ([out.name] if out.name in saved else [])
    returns = [f"grads[{order.index('d' + n)}]" if "d" + n in order else f"_no_gradient(ctx, {i}, {n!r})"
               for i, n in enumerate(names)]
    op = f"symnet::{forward.name}"
    ann = ", ".join(f"{n}: torch.Tensor" for n in names)
    bann = ", ".join(f"{n}: torch.Tensor" for n in kept + ["g"])
    fakes = ", ".join(f"torch.empty_like({o[1:]})" for o in order)
    return f'''\
if not _registered("{op}"):  # loading this file twice must not register the op twice
    @torch.library.custom_op("{op}", mutates_args=())
    def _{forward.name}_op({ann}) -> torch.Tensor:
        return {forward.name}({", ".join(names)})

    @_{forward.name}_op.register_fake
    def _({", ".join(names)}):
        return {names[0]}.new_empty({names[0]}.shape[0], {_rows_of(forward)}.shape[0])

    @torch.library.custom_op("{op}_backward", mutates_args=())
    def _{forward.name}_backward_op({bann}) -> list[torch.Tensor]:
        return list({backward.name}({", ".join(saved + ["g.contiguous()"])}))

    @_{forward.name}_backward_op.register_fake
    def _({", ".join(kept + ["g"])}):
        return [{fakes}]

    def _{forward.name}_twice(ctx, grads):
        raise RuntimeError("{op} is differentiable once: its backward has no derivative "
                           "(create_graph=True then backward again is not supported)")

    _{forward.name}_backward_op.register_autograd(_{forward.name}_twice, setup_context=lambda ctx, inputs, output: None)

    def _{forward.name}_setup(ctx, inputs, output):
        {", ".join(names)} = inputs{z_line}
        ctx.save_for_backward({", ".join(kept[:-1] + ["output"] if out.name in saved else kept)})

    def _{forward.name}_backward(ctx, g):
        grads = torch.ops.{op.replace("::", ".")}_backward(*ctx.saved_tensors, g)
        return {", ".join(returns)}

    _{forward.name}_op.register_autograd(_{forward.name}_backward, setup_context=_{forward.name}_setup)


def {forward.name}_layer({", ".join(names)}):
    """{forward.formula}, differentiable: a torch custom op (torch.compile keeps it whole)
    whose gradient comes from the generated {backward.name} kernels (itself a custom op)."""
    return torch.ops.{op.replace("::", ".")}({", ".join(names)})
'''


def _rows_of(forward: LayerKernel) -> str:
    """The argument whose first axis is the output size: the weight matrix of the output index."""
    (out,) = forward.outputs
    (i,) = out.indices
    for a in forward.args:
        if not a.batched and len(a.indices) == 2 and a.indices[0] == i:
            return a.name
    raise SymnetError(f"{forward.name}: no weight matrix has the output index {i} first")


def emit_triton_layer_module(kernels: list[LayerKernel], source: str, regenerate: str) -> str:
    used: set = set()
    parts = []
    by_name = {k.name: k for k in kernels}
    for kernel in kernels:
        if _is_backward(kernel):
            code, launches, step_args = emit_backward(kernel, used)
            parts += [code, emit_backward_launcher(kernel, launches, step_args)]
            forward = by_name.get(kernel.name.removesuffix("_backward"))
            if forward is not None:
                parts.append(emit_layer_autograd(forward, kernel))
        else:
            parts += [emit_forward(kernel, used), emit_forward_tma(kernel, used), emit_forward_launcher(kernel)]
    device = generated_last(TRITON_HELPERS, used, "triton")
    return assemble(kernels, source, regenerate,
                    ["Tiled matrix products (tl.dot, IEEE float32 for float32 inputs) with the bias and the",
                     "activation fused into the forward epilogue and δ formed inside the backward products;",
                     "tile sizes autotuned on a GPU. bfloat16/float16 multiply natively, accumulate in float32.",
                     "On Hopper a 16-bit forward also has a persistent kernel fed by TMA descriptors; the",
                     "launcher times both once per shape and keeps the faster."],
                    [CONFIGS, TMA_HOST] + device + [HOST_HELPERS["_device_ok"], HOST, HOST_HELPERS["_registered"],
                     HOST_HELPERS["_no_gradient"]] + parts,
                    imports=["from triton.tools.tensor_descriptor import TensorDescriptor"])
