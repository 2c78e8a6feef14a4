#!/usr/bin/env bash
# Make .gpu_site/: the pure-Python packages that symnet and its tests import and the GPU machine's image lacks
# (platformdirs, tqdm, mpmath; the H200 run of 2026-12-04 failed its test stages without them). Copied from the
# active Python's site-packages; the device tool carries the folder (carry [".gpu_site"]) and run_gpu.sh puts it on
# PYTHONPATH. Hypothesis is left out: its compiled part is built for this machine's Python, and no test run there
# needs it.
set -eu
dest=${1:-.gpu_site}
rm -rf "$dest" && mkdir -p "$dest"
python3 - "$dest" <<'PY'
import importlib, shutil, sys
from pathlib import Path
dest = Path(sys.argv[1])
for name in ("platformdirs", "tqdm", "mpmath"):
    src = Path(importlib.import_module(name).__file__).parent
    shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    print(f"{name}: {src}")
PY
grep -qx '/.gpu_site/' .git/info/exclude 2>/dev/null || echo '/.gpu_site/' >> .git/info/exclude
du -sh "$dest"
