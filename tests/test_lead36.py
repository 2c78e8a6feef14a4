"""The lead's mends of session 36, each with the fault it mends."""
import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]

_SOURCE = """
import sys
import numpy as np
import symnet
kernels = [symnet.compile(symnet.derive(f)) for f in sys.argv[1:]]
out = kernels[-1](x=np.array([1.0, 3.0]), y=np.array([2.0, 3.0 + 2**-50]))
assert all(np.isfinite(o).all() for o in out), out
sys.stdout.write(kernels[-1].source)
"""


def _source_after(formulas, cache):
    env = dict(os.environ, SYMNET_CACHE=str(cache), PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-c", _SOURCE, *formulas], env=env, capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


# A widened body's function is one helper of the module, named by the body's digest, and the first kernel of a process
# to print it fixes its text for every later one. NumPy's printer printed it with the kernel printer's state: inside a
# product it takes again (_select_moving), the body's own products were not taken again. At 214b854b, compiling
# 1/x − 1/y and then the Gamma deviance in one process gave the second a function calling _taken_by_exponents, a helper
# its own printing never named: NameError when called (h-tidy36 found it). The kernel's text is now the same whatever
# was compiled before it.
def test_a_kernels_text_does_not_depend_on_what_the_process_compiled_before(tmp_path):
    gamma = "2*(log(x/y) + y/x - 1)"
    after = _source_after(["1/x - 1/y", gamma], tmp_path / "a")
    alone = _source_after([gamma], tmp_path / "b")
    assert after == alone
