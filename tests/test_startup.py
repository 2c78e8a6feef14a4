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


# ------------------------------------------------- symnet.get(NAME): the derivation kept on disk

FORMATS = ("text", "ascii", "latex", "markdown", "json")


@pytest.fixture
def get_cache(tmp_path, monkeypatch):
    """An empty cache folder for symnet.get, and a cleared in-process memory."""
    from symnet import curriculum

    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SYMNET_NO_DISK_CACHE", raising=False)
    curriculum.get_stored.cache_clear()
    yield tmp_path / "cache" / curriculum.DISK_CACHE
    curriculum.get_stored.cache_clear()


def test_every_named_derivation_loaded_from_disk_prints_exactly_as_built(get_cache):
    """Stored here, loaded in a fresh process that builds nothing: every format the same text,
    and every SymPy object the same structure (class, arguments, assumptions)."""
    from symnet import curriculum
    from symnet import pickling as _store
    from symnet.render import render

    fresh = {}
    for name in curriculum.ORDER:
        d = curriculum.get(name)  # built (or from this process's memory)
        curriculum.store_derivation(name, d)
        fresh[name] = {f: render(d, f) for f in FORMATS} | {"structure": _store._fingerprint(d)}
    assert sorted(p.name.split("-0")[0] for p in get_cache.iterdir()) == sorted(curriculum.ORDER)
    code = ("import json, symnet\nfrom symnet import curriculum\nfrom symnet import pickling as _store\n"
            "from symnet.render import render\n"
            f"names = {list(curriculum.ORDER)!r}\n"
            "ds = {n: symnet.get(n) for n in names}\n"
            "assert not curriculum._BUILDERS, 'a builder module was loaded'\n"
            f"print(json.dumps({{n: {{f: render(d, f) for f in {FORMATS!r}}} | "
            "{'structure': _store._fingerprint(d)} for n, d in ds.items()}))")
    done, modules = _loaded(code)
    assert "symnet.engine" not in modules and "symnet.curriculum.scalar" not in modules
    loaded = json.loads(done.stdout)
    for name in curriculum.ORDER:
        for what in (*FORMATS, "structure"):
            assert loaded[name][what] == fresh[name][what], f"{name}: {what} differs after loading"


def _counted_builds(monkeypatch, name="sigmoid"):
    from symnet import curriculum

    curriculum._load()
    curriculum.get.cache_clear()
    summary, build = curriculum._BUILDERS[name]
    runs = []

    def counted():
        runs.append(1)
        return build()

    monkeypatch.setitem(curriculum._BUILDERS, name, (summary, counted))
    return runs


def _get_again(name="sigmoid"):
    """symnet.get as a fresh process would: only the disk cache remains."""
    import symnet
    from symnet import curriculum

    curriculum.get.cache_clear()
    curriculum.get_stored.cache_clear()
    return symnet.get(name)


def test_get_builds_once_then_loads_from_disk(get_cache, monkeypatch):
    import symnet.render

    runs = _counted_builds(monkeypatch)
    first = _get_again()
    files = list(get_cache.iterdir())
    assert runs == [1] and [p.suffix for p in files] == [".pickle"]
    assert (get_cache.stat().st_mode & 0o777) == 0o700
    again = _get_again()
    assert runs == [1] and again is not first and symnet.render.render_text(again) == symnet.render.render_text(first)
    monkeypatch.setenv("SYMNET_NO_DISK_CACHE", "1")
    _get_again()
    assert runs == [1, 1]


def _stored(get_cache) -> Path:
    (path,) = [p for p in get_cache.iterdir() if p.suffix == ".pickle"]
    return path


def test_a_garbled_or_truncated_file_is_rebuilt(get_cache, monkeypatch):
    runs = _counted_builds(monkeypatch)
    _get_again()
    path = _stored(get_cache)
    data = path.read_bytes()
    for bad in (data[:-1] + bytes([data[-1] ^ 1]), data[: len(data) // 2], b""):
        path.write_bytes(bad)
        d = _get_again()
        assert "σ" in str(d) and path.read_bytes() == data  # rebuilt and stored again
    assert runs == [1, 1, 1, 1]


def test_a_planted_pickle_with_a_matching_digest_runs_nothing(get_cache, monkeypatch, tmp_path):
    """The digest only guards against garbling: a file planted with a correct digest must still
    call nothing but symnet's rebuilders (here it would create a file)."""
    import pickle

    from symnet import curriculum
    from symnet.cache import sealed

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    runs = _counted_builds(monkeypatch)
    _get_again()
    body = pickle.dumps(Payload())
    path = _stored(get_cache)
    path.write_bytes(sealed(curriculum._PICKLE_HEADER, path.name, body))
    d = _get_again()
    assert not marker.exists() and runs == [1, 1] and "σ" in str(d)


@pytest.mark.parametrize("problem", ["others can write it", "a symbolic link"])
def test_a_file_others_can_write_or_a_link_is_not_used(get_cache, monkeypatch, tmp_path, problem):
    runs = _counted_builds(monkeypatch)
    _get_again()
    path = _stored(get_cache)
    if problem == "a symbolic link":
        elsewhere = tmp_path / "elsewhere.pickle"
        elsewhere.write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(elsewhere)
    else:
        path.chmod(0o666)
    with pytest.warns(RuntimeWarning, match="ignores"):
        _get_again()
    assert runs == [1, 1]


def test_the_stored_loader_refuses_other_globals_and_bad_values():
    import pickle

    from symnet import pickling as _store

    with pytest.raises(_store.UnfaithfulError, match="may not name"):
        _store.loads(pickle.dumps(os.getcwd))
    with pytest.raises(_store.UnfaithfulError):  # a SymPy class, but text where an argument goes
        _store._node("sympy.functions.elementary.exponential:exp", ("x",))
    with pytest.raises(_store.UnfaithfulError):  # not a SymPy class
        _store._node("builtins:eval", ())
    with pytest.raises(_store.UnfaithfulError):
        _store._node("sympy.core.sympify:sympify", ())
    with pytest.raises(_store.UnfaithfulError):
        _store.dumps(lambda: 0)


def test_sympys_own_pickling_is_not_faithful_and_ours_is():
    """Why the custom rebuilders exist: SymPy's pickle evaluates on loading."""
    import pickle

    import sympy as sp

    from symnet import pickling as _store

    x = sp.Symbol("x", real=True)
    e = sp.Add(sp.Integer(3), sp.Integer(2), evaluate=False) * sp.Mul(2, x - 3, evaluate=False)
    assert sp.srepr(pickle.loads(pickle.dumps(e))) != sp.srepr(e)
    assert sp.srepr(_store._node(*_store._reduce(e)[1])) == sp.srepr(e)
