#!/usr/bin/env bash
# One call on a lent GPU (the device tool): the Triton tests, then both benchmarks.
# Results land in $OUT (or benchmarks/results/ when OUT is unset) as
#   tests-<gpu>-<date>.txt, gpu-<gpu>-<date>.{json,txt}, gpu-fused-<gpu>-<date>.{json,txt};
# commit them under benchmarks/results/. Budget: about 8 minutes, compilation included.
set -u
out=${OUT:-benchmarks/results}
mkdir -p "$out"
export PYTHONPATH=.
gpu=$(python3 -c "import torch; n = torch.cuda.get_device_name(); print(next((w for w in n.lower().split() if w[:1] in 'habv' and any(c.isdigit() for c in w)), 'gpu'))")
day=$(date +%F)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv > "$out/device-$gpu-$day.txt" 2>&1
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" >> "$out/device-$gpu-$day.txt"
timeout 200 python3 -m pytest -q -x tests/test_triton.py tests/test_fused.py > "$out/tests-$gpu-$day.txt" 2>&1
echo "tests: exit $? ($(tail -1 "$out/tests-$gpu-$day.txt"))"
timeout 150 python3 benchmarks/gpu_fused.py --json "$out/gpu-fused-$gpu-$day.json" > "$out/gpu-fused-$gpu-$day.txt" 2>&1
echo "gpu_fused: exit $?"
timeout 150 python3 benchmarks/gpu.py --json "$out/gpu-$gpu-$day.json" > "$out/gpu-$gpu-$day.txt" 2>&1
echo "gpu: exit $?"
tail -25 "$out/gpu-fused-$gpu-$day.txt"
tail -25 "$out/gpu-$gpu-$day.txt"
