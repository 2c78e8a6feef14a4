#!/usr/bin/env bash
# One call on a lent GPU (the device tool): the benchmarks and the Triton tests on the GPU.
# Results land in $OUT (or benchmarks/results/ when OUT is unset) as
#   device-<gpu>-<date>.txt, gpu-fused-<gpu>-<date>.{json,txt}, gpu-<gpu>-<date>.{json,txt},
#   gpu-sweep-<gpu>-<date>.{json,txt}, gpu-ablation-<gpu>-<date>.{json,txt}, tests-{triton,torch,fused}-<gpu>-<date>.txt
# (the device tool brings back 8 files at most: choose STAGES to fit);
# the image lacks platformdirs, tqdm and mpmath: make .gpu_site/ first (bash benchmarks/gpu_site.sh) and carry it;
# commit them under benchmarks/results/. The stages run in order of what the open issues need
# (correctness of every kernel first, then symnet.torch's triton_op path, then issue 19's goal cases),
# each under its own limit, all within BUDGET seconds (default 360, issue 19: a lease is 15 minutes,
# start-up included, and a rerun must fit). Each benchmark writes its JSON after every case, so a stage cut short keeps what it measured.
set -u
start=$SECONDS
budget=${BUDGET:-360}
left() { echo $((budget - (SECONDS - start))); }
out=${OUT:-benchmarks/results}
mkdir -p "$out"
# .gpu_site/ (benchmarks/gpu_site.sh, carried by the device tool): the pure-Python packages the image lacks
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}:.gpu_site PYTHONUNBUFFERED=1
gpu=$(python3 -c "import torch; n = torch.cuda.get_device_name(); print(next((w for w in n.lower().split() if w[:1] in 'habv' and any(c.isdigit() for c in w)), 'gpu'))")
day=$(date +%F)
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,utilization.gpu --format=csv
  python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'SMs', torch.cuda.get_device_properties(0).multi_processor_count)"
} > "$out/device-$gpu-$day.txt" 2>&1
cat "$out/device-$gpu-$day.txt"

# STAGES: the stages to run, by the first word of their output's name (default: every one), e.g.
# STAGES="tests-triton gpu-ablation" for a rerun after a fix.
stages=${STAGES:-tests-triton tests-torch gpu gpu-ablation gpu-fused gpu-sweep tests-fused}
stage() {  # stage NAME LIMIT COMMAND...: run under min(LIMIT, what is left), output to $out/NAME
  local name=$1 limit=$2; shift 2
  case " $stages " in *" ${name%%-"$gpu"-*} "*) ;; *) echo "$name: not in STAGES"; return;; esac
  local l; l=$(left); [ "$limit" -gt "$l" ] && limit=$l
  if [ "$limit" -lt 20 ]; then echo "$name: skipped, no time left"; return; fi
  timeout "$limit" "$@" > "$out/$name" 2>&1
  echo "$name: exit $? after $((SECONDS - start)) s"
}
# -v: each test named as it ends, so a stage cut at its limit still says which failed (2026-12-04: "48 % F")
stage "tests-triton-$gpu-$day.txt" 110 python3 -m pytest -v -p no:cacheprovider tests/test_repair26.py tests/test_triton.py
# symnet.torch on CUDA tensors: the triton_op/wrap_triton registration (never run before), opcheck,
# torch.compile with Inductor, export, fused linear + cross-entropy
stage "tests-torch-$gpu-$day.txt" 120 python3 -m pytest -v -p no:cacheprovider tests/test_symnet_torch.py \
    tests/test_fused_linear_ce.py
stage "gpu-$gpu-$day.txt" 110 python3 benchmarks/gpu.py --json "$out/gpu-$gpu-$day.json"
# where the sigmoid+MSE kernel's time goes: the generated kernel beside variants of its text (not shipped)
stage "gpu-ablation-$gpu-$day.txt" 60 python3 benchmarks/gpu_ablation.py --json "$out/gpu-ablation-$gpu-$day.json"
stage "gpu-fused-$gpu-$day.txt" 60 python3 benchmarks/gpu_fused.py --json "$out/gpu-fused-$gpu-$day.json"
stage "gpu-sweep-$gpu-$day.txt" 60 python3 benchmarks/gpu_sweep.py --json "$out/gpu-sweep-$gpu-$day.json"
stage "tests-fused-$gpu-$day.txt" 600 python3 -m pytest -v -p no:cacheprovider tests/test_fused.py
tail -3 "$out/tests-triton-$gpu-$day.txt" "$out/tests-torch-$gpu-$day.txt" "$out/tests-fused-$gpu-$day.txt" 2>/dev/null
grep -E "FAILED|Error" "$out/gpu-$gpu-$day.txt" "$out/gpu-fused-$gpu-$day.txt" 2>/dev/null | head -20
cat "$out/gpu-ablation-$gpu-$day.txt" 2>/dev/null
tail -30 "$out/gpu-sweep-$gpu-$day.txt" 2>/dev/null
tail -30 "$out/gpu-$gpu-$day.txt"
