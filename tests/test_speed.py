"""Speed of derivations (issue 17, point 7), measured deterministically: the work the engine's
checks do grows with the size of the computational graph, not of the written-out formula;
false steps are still refused; results agree with torch's autograd; named derivations are
cached on disk (hit, stale key, hostile content refused); ``train --compare`` times torch at
its better thread setting."""
from __future__ import annotations

import os
import warnings

import pytest
import sympy as sp

import symnet
import symnet.engine as engine
import symnet.stepcheck as verify
from symnet import DerivationError, sigmoid
from symnet import curriculum
from symnet.graphcheck import GraphCheck


def network(layers: int, width: int = 2, n_in: int = 2) -> sp.Expr:
    """A written-out network of sigmoid layers, ending in one sigmoid unit."""
    a = list(sp.symbols(f"x1:{n_in + 1}", real=True))
    for layer in range(layers):
        units = width if layer < layers - 1 else 1
        a = [sigmoid(sum(sp.Symbol(f"w{layer}_{i}_{j}", real=True) * a[j] for j in range(len(a)))
                     + sp.Symbol(f"b{layer}_{i}", real=True)) for i in range(units)]
    return a[0]


def _work(monkeypatch, f):
    """Derive f, recording the operations handed to check_equal and the simplify calls."""
    record = {"ops": 0, "calls": 0, "simplify": 0}
    real_check, real_simplify = engine.check_equal, verify._simplifies_to_zero

    def counting_check(a, b, what="step"):
        record["calls"] += 1
        record["ops"] += sp.count_ops(a) + sp.count_ops(b)
        return real_check(a, b, what)

    def counting_simplify(e):
        record["simplify"] += 1
        return real_simplify(e)

    monkeypatch.setattr(engine, "check_equal", counting_check)
    monkeypatch.setattr(verify, "_simplifies_to_zero", counting_simplify)
    d = symnet.derive(f)
    return d, record


def test_check_work_grows_with_the_graph_not_the_expansion(monkeypatch):
    d2, w2 = _work(monkeypatch, network(2))
    d4, w4 = _work(monkeypatch, network(4))
    nodes2, nodes4 = len(d2.definitions), len(d4.definitions)
    expanded2 = sp.count_ops(d2.gradients[sp.Symbol("x1", real=True)])
    expanded4 = sp.count_ops(d4.gradients[sp.Symbol("x1", real=True)])
    assert expanded4 / expanded2 > 8  # the written-out gradient grows much faster ...
    growth = nodes4 / nodes2
    assert w4["calls"] <= 3 * growth * w2["calls"]  # ... than the checks' work
    assert w4["ops"] <= 3 * growth * w2["ops"]
    assert w4["simplify"] <= 3 * growth * max(1, w2["simplify"])
    # the large steps were checked on the graph and say so
    sweep = next(s for s in d4.sections if s.title.startswith("Backward"))
    assert {s.check for s in sweep.steps} <= {"exact", "numeric"} and "numeric" in {s.check for s in sweep.steps}


def test_large_network_gradients_match_torch_autograd():
    torch = pytest.importorskip("torch")
    f = network(3)
    d = symnet.derive(f)
    variables = sorted(f.free_symbols, key=str)
    point = {v: 0.3 + 0.17 * k * (-1) ** k for k, v in enumerate(variables)}
    tensors = {v: torch.tensor(point[v], dtype=torch.float64, requires_grad=True) for v in variables}
    z = sp.lambdify(variables, symnet.functions.explicit(f),
                    modules=[{"exp": torch.exp}, "math"])(*[tensors[v] for v in variables])
    z.backward()
    for v in variables:
        got = float(d.gradients[v].subs(point).evalf(30))
        assert got == pytest.approx(float(tensors[v].grad), rel=1e-12, abs=1e-15), v


def test_a_false_step_in_a_large_graph_is_refused(monkeypatch):
    monkeypatch.setattr(engine, "_tidy", lambda e: e * sp.Rational(10**12 + 1, 10**12))
    with pytest.raises(DerivationError, match="is false"):
        symnet.derive(network(3))


def test_graph_check_compares_with_an_independent_forward_mode_reference():
    x, y = sp.symbols("x y", real=True)
    program = engine.Program.from_expressions([sigmoid(x * y) * sp.exp(x)], [sp.Symbol("f")])
    graph = GraphCheck(program, verify.sample_point)
    assert graph.ready
    good = sp.diff(symnet.functions.explicit(sigmoid(x * y) * sp.exp(x)), x)
    assert graph.derivative_equals(good, sp.Symbol("f"), x, "good")
    with pytest.raises(DerivationError, match="is false"):
        graph.derivative_equals(good * (1 + sp.Rational(1, 10**20)), sp.Symbol("f"), x, "bad")


def test_small_formulas_keep_their_symbolic_proofs():
    x, t = sp.symbols("x t", real=True)
    d = symnet.derive((t - sigmoid(x)) ** 2, wrt=[x])
    result = next(s for s in d.sections if s.title == "Result")
    assert result.steps[0].check in ("exact", "symbolic")


# ---------------------------------------------------------------------- the disk cache

NAME = "sigmoid"


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SYMNET_NO_DISK_CACHE", raising=False)
    curriculum.get.cache_clear()
    yield tmp_path / "cache" / curriculum.DISK_CACHE
    curriculum.get.cache_clear()


def _builds(monkeypatch):
    """Count the builder's runs for NAME."""
    curriculum._load()
    summary, build = curriculum._BUILDERS[NAME]
    runs = []

    def counted():
        runs.append(1)
        return build()

    monkeypatch.setitem(curriculum._BUILDERS, NAME, (summary, counted))
    return runs


def _derive(capsys, *extra):
    from symnet.cli import main

    curriculum.get.cache_clear()  # a fresh process: only the disk cache remains
    assert main(["derive", NAME, *extra]) == 0
    return capsys.readouterr().out


def test_repeated_cli_derive_reads_the_printout_from_disk(fresh_cache, monkeypatch, capsys):
    from symnet import render

    runs = _builds(monkeypatch)
    first = _derive(capsys)
    assert runs == [1] and [p.name for p in fresh_cache.iterdir()] == [curriculum.text_filename(NAME, "text")]
    assert (fresh_cache.stat().st_mode & 0o777) == 0o700
    monkeypatch.setattr(render, "render", lambda *a, **k: pytest.fail("rendered again"))
    assert _derive(capsys) == first and runs == [1]


def test_each_format_is_kept_apart(fresh_cache, monkeypatch, capsys):
    runs = _builds(monkeypatch)
    text, latex = _derive(capsys), _derive(capsys, "--format", "latex")
    assert runs == [1, 1] and text != latex
    assert _derive(capsys) == text and _derive(capsys, "--format", "latex") == latex and runs == [1, 1]


def test_another_key_builds_again_and_keeps_the_other_keys_file(fresh_cache, monkeypatch, capsys):
    """Another key (another symnet version sharing the folder) builds its own printout; the first
    version's stays for it (tests/test_breakage13.py: deleted once unused for a while)."""
    runs = _builds(monkeypatch)
    _derive(capsys)
    old = list(fresh_cache.iterdir())
    monkeypatch.setattr(curriculum, "cache_key", lambda: "0.0.0-changed")  # names the file
    monkeypatch.setattr("symnet.cache.cache_key", lambda: "0.0.0-changed")  # decides which files are stale
    _derive(capsys)
    assert runs == [1, 1]
    assert old and all(p.exists() for p in old)
    assert f"{NAME}-0.0.0-changed.text.txt" in [p.name for p in fresh_cache.iterdir()]


PLANTED = "symnet derive sigmoid: the planted printout\n"


def _plant(fresh_cache, mode: int = 0o644):
    fresh_cache.mkdir(parents=True, mode=0o700, exist_ok=True)
    fresh_cache.parent.chmod(0o700)
    path = fresh_cache / curriculum.text_filename(NAME, "text")
    path.write_bytes(curriculum.text_bytes(NAME, "text", PLANTED))  # as symnet writes it: the text with its digest
    path.chmod(mode)
    return path


def test_the_plain_cache_file_is_used(fresh_cache, monkeypatch, capsys):
    runs = _builds(monkeypatch)
    _plant(fresh_cache)  # the user's own file, as symnet writes it: printed as it is
    assert _derive(capsys) == PLANTED and runs == []


@pytest.mark.parametrize("mode", [0o666, 0o620])
def test_a_cache_file_others_can_write_is_not_used(fresh_cache, monkeypatch, capsys, mode):
    runs = _builds(monkeypatch)
    _plant(fresh_cache, mode)
    with pytest.warns(RuntimeWarning, match="ignores"):
        out = _derive(capsys)
    assert runs == [1] and out != PLANTED and "σ" in out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another uid")
def test_a_cache_file_of_another_user_is_not_used(fresh_cache, monkeypatch, capsys):
    runs = _builds(monkeypatch)
    os.chown(_plant(fresh_cache), 54321, 54321)
    with pytest.warns(RuntimeWarning, match="ignores"):
        out = _derive(capsys)
    assert runs == [1] and out != PLANTED


def test_a_symbolic_link_in_the_cache_is_not_followed(fresh_cache, monkeypatch, capsys, tmp_path):
    runs = _builds(monkeypatch)
    target = tmp_path / "elsewhere.txt"
    target.write_text(PLANTED)
    fresh_cache.mkdir(parents=True, mode=0o700)
    (fresh_cache / curriculum.text_filename(NAME, "text")).symlink_to(target)
    with pytest.warns(RuntimeWarning, match="ignores"):
        out = _derive(capsys)
    assert runs == [1] and out != PLANTED


def test_a_group_writable_cache_folder_is_refused(fresh_cache, monkeypatch, capsys):
    """Refused in one line, as a Triton compile refuses it (session 22: it was a warning here)."""
    from symnet.cli import main

    runs = _builds(monkeypatch)
    _plant(fresh_cache)
    fresh_cache.chmod(0o770)
    curriculum.get.cache_clear()
    assert main(["derive", NAME]) == 2
    captured = capsys.readouterr()
    assert runs == [] and captured.out == "" and PLANTED not in captured.err
    assert captured.err.count("\n") == 1 and "can be written by others (mode 0770)" in captured.err


def test_a_cache_file_that_is_not_text_is_rebuilt(fresh_cache, monkeypatch, capsys):
    runs = _builds(monkeypatch)
    _plant(fresh_cache).write_bytes(b"\xff\xfe not utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = _derive(capsys)
    assert runs == [1] and "σ" in out


# ---------------------------------------------------------------------- progress

class _Terminal:
    def __init__(self, tty):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_progress_shows_on_a_terminal_after_the_delay_and_is_erased():
    import time
    from symnet.cli import _progress

    term = _Terminal(True)
    with _progress("deriving x", stream=term, after=0.05, every=0.02):
        time.sleep(0.3)
    assert "symnet: deriving x … 0 s" in term.text and term.text.endswith("\r")
    quick = _Terminal(True)
    with _progress("deriving x", stream=quick, after=5):
        pass
    assert quick.text == ""
    pipe = _Terminal(False)
    with _progress("deriving x", stream=pipe, after=0.0, every=0.01):
        time.sleep(0.1)
    assert pipe.text == ""


# ---------------------------------------------------------------------- train --compare

def test_compare_times_torch_at_its_faster_thread_setting():
    torch = pytest.importorskip("torch")
    from symnet.training.mlp import best_torch_threads, torch_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        seen = []

        def timing(fast_at):
            def seconds():
                seen.append(torch.get_num_threads())
                return 0.01 if torch.get_num_threads() == fast_at else 1.0
            return seconds

        assert best_torch_threads(timing(1))[0] == 1
        threads, tried = best_torch_threads(timing(2))
        assert threads == 2 and set(tried) == {1, 2} and set(seen) == {1, 2}
        assert torch.get_num_threads() == 2  # restored
        with torch_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_train_compare_says_which_thread_setting_torch_ran_at(capsys):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from symnet.cli import main

    assert main(["train", "digits", "--compare", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "torch CPU autograd, 1 thread" in out or "torch CPU autograd, 2 threads" in out
    assert "the faster thread setting here" in out or "its only setting here" in out


# ---------------------------------------------------------------------- H(0)

def test_heaviside_at_zero_is_zero_in_derive_compile_and_torch_and_says_so():
    import numpy as np

    x, y = sp.symbols("x y")
    for f in (sp.Heaviside(x) * y, symnet.parse("H(x)*y")):  # SymPy's own H (1/2 at 0) and the parser's
        d = symnet.derive(f, wrt=[y], at={"x": 0, "y": 2})
        step = d.sections[0].steps[0]
        assert step.value == 0 and "H(0) = 0" in step.why and "1/2" in step.why
        assert d.gradients[y].subs(sp.Symbol("x", real=True), 0) == 0
        kernel = symnet.compile(symnet.derive(f, wrt=[y]), "numpy")
        got = kernel(np.array([0.0, -1.0, 1.0]), np.array([2.0, 2.0, 2.0]))
        values = got[0] if isinstance(got, tuple) else got
        assert list(np.asarray(values, dtype=float).ravel()[:3]) == [0.0, 0.0, 2.0]
    torch = pytest.importorskip("torch")
    assert float(torch.heaviside(torch.tensor(0.0), torch.tensor(0.0))) == 0.0


def test_the_step_checker_s_evaluator_names_its_arguments_apart():
    """The numeric check's mpmath function takes plain symbols _a0, _a1 … as arguments (Dummies made
    sp.lambdify rename each with a walk of the whole formula): a variable already named _a0, a Dummy and an
    Indexed entry still get arguments of their own, in order."""
    a0, x, d = sp.Symbol("_a0", real=True), sp.Symbol("x", real=True), sp.Dummy("d")
    W = sp.IndexedBase("W")
    f = verify._evaluator(x * a0 - W[0, 1] / d, [x, a0, W[0, 1], d])
    assert f(2, 3, 10, 5) == 4
    assert verify._numeric_equal(x * a0 + W[0, 1], a0 * x + W[0, 1]) is True
    assert verify._numeric_equal(x * a0 + W[0, 1], a0 * x - W[0, 1]) is False
