"""Fresh eyes, round 4: a new user's tries of this evening's features (verify FORMULA, the
derivation disk cache, progress=, compile, fused linear + cross-entropy, FusedStep with Adam).
Each test is one fault found and fixed, through the public API or the command line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _symnet(*args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    env.pop("SYMNET_NO_DISK_CACHE", None)
    return subprocess.run([sys.executable, "-m", "symnet", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_cache_warning_is_one_line_once(tmp_path):
    # SYMNET_CACHE naming a file: `symnet derive NAME` printed Python's warning format twice
    # (".../cli.py:41: RuntimeWarning: ..." and the source line "return args.run(args)", once when
    # reading the cache and once when storing); then one 'symnet: warning:' line, and the derivation; since session
    # 22 (h-fresh22) a cache folder symnet cannot use as its own is refused alike on every path: one error line
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    r = _symnet("derive", "sigmoid", env_extra={"SYMNET_CACHE": str(not_a_folder)})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("symnet: error: ") and "not a folder" in lines[0]


@pytest.mark.parametrize("name", ["backprop", "comp-graph", "linear-miles"])
def test_verify_refuses_a_named_derivation(name):
    # `symnet verify backprop` measured the formula f = backprop (a variable; "df_dbackprop 0 ULP,
    # pass"), `symnet verify comp-graph` the difference comp − graph; now one line, status 2
    r = _symnet("verify", name, "--points", "3")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        f"symnet: error: '{name}' is a named derivation, not a formula: symnet verify takes a formula such as "
        "'softsign(x)'; without one it checks every committed kernel"]


@pytest.mark.parametrize("options, named", [(["--points", "5"], "--points applies"),
                                            (["--timeout", "5", "--dtype", "float32"], "--dtype, --timeout apply")])
def test_verify_without_formula_refuses_the_formula_options(options, named):
    # `symnet verify --points 5` (or --timeout, --dtype, --wrt, --max-ulp) ignored the option and ran
    # the whole committed-kernel check; now one line naming it, before any work
    r = _symnet("verify", *options)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"symnet: error: {named} only with a FORMULA") and len(r.stderr.splitlines()) == 1


def test_verify_still_takes_a_plain_variable():
    r = _symnet("verify", "x", "--points", "3")
    assert r.returncode == 0 and "df_dx" in r.stdout


def test_compile_of_a_formula_string_says_to_derive_it():
    # symnet.compile("gelu(x)") answered only "unknown row-wise function 'gelu(x)'; known: softmax, ..."
    import symnet
    from symnet.errors import SymnetError

    with pytest.raises(SymnetError, match=r"symnet.compile takes a Derivation \(symnet.derive\('gelu\(x\)'\)"):
        symnet.compile("gelu(x)")
    with pytest.raises(SymnetError, match=r"^unknown row-wise function 'xxxx.*\.\.\.'"):  # a long string cut
        symnet.compile("x" * 500)
    assert symnet.compile("logsumexp").logsumexp is not None  # a row-wise name still compiles


torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported
pytest.importorskip("triton")


@pytest.fixture
def interpret():
    return "cuda" if torch.cuda.is_available() else "cpu"


def test_fused_step_names_x_when_its_features_do_not_fit_the_first_layer(interpret):
    # x with 5 features for a layer of 4 inputs: the error blamed W1 ("argument 'W1' has shape
    # (8, 4), expected (8, 5)"); it names x and the shape the first layer takes
    from symnet.torch.optim import FusedStep

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).to(interpret)
    opt = FusedStep(model, optimizer="adam", lr=1e-2)
    t = torch.randint(0, 3, (16,), device=interpret)
    before = [p.detach().clone() for p in model.parameters()]
    for bad in (torch.randn(16, 5, device=interpret), torch.randn(16, device=interpret),
                torch.randn(2, 8, 4, device=interpret)):
        with pytest.raises(ValueError, match=r"^x has shape .*the first layer takes \(examples, 4\)$"):
            opt.step(bad, t)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters())) and opt.steps_taken == 0
    assert torch.isfinite(opt.step(torch.randn(16, 4, device=interpret), t))  # a good x still steps


def test_fused_step_says_how_to_take_another_activation_module(interpret):
    # nn.GELU in the model: the error said the step takes only Sigmoid, Tanh, ReLU, though with
    # activations=("gelu", "linear") it trains; the message now says so, and that form works
    from symnet.errors import FusedStepError
    from symnet.torch.optim import FusedStep

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 3)).to(interpret)
    with pytest.raises(FusedStepError, match=r"cannot take GELU here.*pass activations="):
        FusedStep(model, lr=0.1)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 3)).to(interpret).double()
    ref.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    opt = FusedStep(model, activations=("gelu", "linear"), lr=0.1)
    x, t = torch.randn(16, 4, device=interpret), torch.randint(0, 3, (16,), device=interpret)
    loss = opt.step(x, t)
    expected = torch.nn.functional.cross_entropy(ref(x.double()), t)
    expected.backward()
    with torch.no_grad():
        for p in ref.parameters():
            p -= 0.1 * p.grad
    assert abs(float(loss) - expected.item()) < 1e-5
    for mine, theirs in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(mine.double(), theirs, rtol=1e-5, atol=1e-6)


def test_fused_step_names_a_linear_layer_without_bias(interpret):
    # nn.Linear(bias=False) in the model was reported as "cannot take Linear here: it takes nn.Linear
    # layers with biases ..." (a Linear refused as if it were not one); now it says the bias is missing
    from symnet.errors import FusedStepError
    from symnet.torch.optim import FusedStep

    model = torch.nn.Sequential(torch.nn.Linear(4, 8, bias=False), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with pytest.raises(FusedStepError, match=r"^the fused step cannot take nn.Linear\(4, 8, bias=False\): every "
                                             r"layer needs its bias"):
        FusedStep(model, lr=0.1)


def test_quotient_is_one_division_not_a_product_with_an_overflowing_reciprocal():
    """x/y at x = y = −1.47e−39 in float32 (y subnormal): 1 (one division). Computed as x·(1/y),
    CSE's shared reciprocal, it was inf·(−1.47e−39)… = inf, because 1/y overflows float32."""
    import numpy as np
    import symnet

    k = symnet.compile(symnet.derive("x/y"), backend="numpy")
    v = np.float32([-1.47e-39, 3.0, 1e-30])
    with np.errstate(over="ignore"):
        f, df_dx, _ = k(v, v)
    np.testing.assert_array_equal(f, np.float32([1.0, 1.0, 1.0]))
    assert f.dtype == np.float32
    np.testing.assert_allclose(df_dx[1:], 1 / v[1:].astype(np.float64), rtol=1e-7)
