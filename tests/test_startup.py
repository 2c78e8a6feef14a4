"""Start-up cost (issue 17, point 7): ``import symnet`` and a cached ``symnet derive NAME`` load
only what they need. Checked in fresh processes through ``sys.modules``, so a module that an
eager import brings back fails here whatever the machine's speed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# what a cached printout never needs: SymPy and the numeric stack, and symnet's engine
HEAVY = ("sympy", "numpy", "torch", "triton", "mpmath", "tqdm")
ENGINE = ("symnet.engine", "symnet.derivation", "symnet.render", "symnet.rules", "symnet.stepcheck",
          "symnet.graphcheck", "symnet.functions", "symnet.parsing", "symnet.bounds", "symnet.codegen",
          "symnet.verify", "symnet.verify.measure", "symnet.curriculum.scalar", "symnet.curriculum._helpers")

_LOADED = "import json, sys; print(json.dumps(sorted(sys.modules), ensure_ascii=True), file=sys.stderr)"


def _loaded(code: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``code`` in a fresh interpreter from the checkout; the modules it had loaded at the end."""
    env = dict(os.environ if env is None else env, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", f"{code}\n{_LOADED}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done, set(json.loads(done.stderr.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m in ENGINE or m.split(".")[0] in HEAVY)


def test_import_symnet_loads_no_numeric_stack_and_no_engine():
    _, modules = _loaded("import symnet")
    assert _heavy(modules) == []
    assert "symnet.errors" in modules  # the exceptions come eagerly: they are cheap


def test_public_names_still_load_on_first_use():
    done, modules = _loaded(
        "import symnet, symnet.verify.spec\n"
        "from symnet.verify import verify as v2, spec\n"
        "from symnet import Derivation, derive, sigmoid, verify, compile\n"
        "from symnet.curriculum import claim\n"
        "print(callable(symnet.verify), symnet.verify is verify is v2, symnet.get('sigmoid').name,\n"
        "      type(symnet.derive(sigmoid(symnet.parse('x')))).__name__, symnet.codegen.__name__, "
        "      sorted(n for n in symnet.__all__ if not hasattr(symnet, n)))")
    assert done.stdout.split() == ["True", "True", "sigmoid", "Derivation", "symnet.codegen", "[]"]
    assert "numpy" in modules and "symnet.engine" in modules


def test_symnet_verify_is_the_function_even_after_its_package_is_imported():
    done, _ = _loaded("import symnet.verify.spec, symnet\n"
                      "r = symnet.verify('x*x', dtypes=('float64',), n=2)\n"
                      "print(type(r).__name__, r.passed)")
    assert done.stdout.split() == ["Report", "True"]


def test_an_unknown_attribute_is_an_attribute_error():
    import symnet

    assert not hasattr(symnet, "no_such_name") and not hasattr(symnet, "_private")
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        symnet.nothing  # noqa: B018


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_cached_cli_path_does_not_load_the_engine(tmp_path, fmt):
    env = dict(os.environ, SYMNET_CACHE=str(tmp_path / "cache"))
    env.pop("SYMNET_NO_DISK_CACHE", None)
    run = "import sys; from symnet.cli import main; sys.exit(main(['derive', 'sigmoid', '--format', %r]))" % fmt
    first = subprocess.run([sys.executable, "-c", run], cwd=ROOT, env=dict(env, PYTHONPATH=str(ROOT)),
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    code = f"from symnet.cli import main\nassert main(['derive', 'sigmoid', '--format', {fmt!r}]) == 0"
    done, modules = _loaded(code, env)
    assert done.stdout == first.stdout and "σ" in done.stdout
    assert _heavy(modules) == []
