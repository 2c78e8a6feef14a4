"""Session 43 (lead): the time limit in a worker thread (bounds.thread_alarm).

Measured before: ``symnet.derive(formula, time_limit=2)`` in a ``threading.Thread`` ran 152 s to the end (no signal
reaches a thread that is not the main one); ``symnet.verify(..., timeout=)`` there was checked only between stages.
"""
import threading
import time

import pytest

import symnet
from symnet import bounds
from symnet.verify.budget import Budget, VerifyTimeoutError

pytestmark = pytest.mark.skipif(not bounds.thread_alarm.available(), reason="no PyThreadState_SetAsyncExc")


def _in_thread(function):
    outcome = {}

    def run():
        start = time.monotonic()
        try:
            outcome["value"] = function()
        except BaseException as e:  # noqa: BLE001  # what escaped, whatever it is
            outcome["error"] = e
        outcome["seconds"] = time.monotonic() - start

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    return outcome


def _busy(seconds):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            sum(range(1000))
        except Exception:  # SymPy's broad excepts: the deadline is not an Exception, and comes again anyway
            pass
    return "finished"


@pytest.mark.parametrize("cpu", [False, True])
def test_the_limit_is_raised_in_the_thread_with_its_message(cpu):
    def limited():
        with bounds.time_limit(0.3, "deriving f took longer than 0.3 s", cpu=cpu):
            return _busy(20)
    outcome = _in_thread(limited)
    assert isinstance(outcome.get("error"), symnet.LimitError), outcome
    assert str(outcome["error"]) == "deriving f took longer than 0.3 s"
    assert outcome["seconds"] < 15


def test_a_block_that_ends_in_time_leaves_nothing_behind():
    def limited():
        with bounds.time_limit(0.2):
            time.sleep(0.01)
        _busy(0.6)  # past the inner limit's deadline: nothing pending may surface here
        return "after"
    assert _in_thread(limited) == {"value": "after", "seconds": pytest.approx(0.6, abs=5)}


def test_nested_limits_each_raise_their_own_error():
    def inner_first():
        with bounds.time_limit(20, "outer"):
            with bounds.time_limit(0.2, "inner"):
                _busy(20)
    def outer_first():
        with bounds.time_limit(0.2, "outer"):
            with bounds.time_limit(20, "inner"):
                _busy(20)
    assert str(_in_thread(inner_first)["error"]) == "inner"
    assert str(_in_thread(outer_first)["error"]) == "outer"


def test_derive_in_a_worker_thread_stops_at_its_time_limit():
    formula = "*".join(f"sigmoid(x{i})" for i in range(150))  # 24 CPU s to derive in full on session 42's box
    outcome = _in_thread(lambda: symnet.derive(formula, time_limit=1))
    assert isinstance(outcome.get("error"), symnet.LimitError), outcome
    assert "took longer than 1 CPU s" in str(outcome["error"])


def test_the_verify_budget_holds_in_a_worker_thread():
    def limited():
        with Budget(0.3):
            _busy(20)
    outcome = _in_thread(limited)
    assert isinstance(outcome.get("error"), VerifyTimeoutError), outcome
    assert outcome["seconds"] < 15


# ---------------------------------------------------------------- max/min of several arguments with a constant
# SymPy flattens max(x, max(y, 0)) into Max(x, y, 0), whose derivative it writes H(x − max(y, 0)): ∂x = ∂y = 0 at a tie
# x = y > 0 (measured session 42, test_break42: 0, 0 at x = y = 0.5 and 2.0; torch 0.5, 0.5). Since session 43 the
# constant is a clamp outside (H(0) = 0, relu′(0) in torch) and the tie rule holds inside.
@pytest.mark.parametrize("formula, torch_form", [
    ("max(x, max(y, 0))", lambda t, x, y: t.relu(t.maximum(x, y))),  # a max with a constant: relu's 0 at the kink
    ("min(min(x, y), 1)", lambda t, x, y: 1 - t.relu(1 - t.minimum(x, y))),
    ("max(x, y, 0, -2)", lambda t, x, y: t.relu(t.maximum(x, y))),
])
def test_several_argument_max_with_a_constant_against_torch(formula, torch_form):
    import numpy as np
    torch = pytest.importorskip("torch")
    values = np.array([-2.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    x, y = (a.ravel() for a in np.meshgrid(values, values))
    k = symnet.compile(symnet.derive(formula))
    _, dx, dy = k(x=x, y=y)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y, requires_grad=True)
    torch_form(torch, tx, ty).sum().backward()
    np.testing.assert_array_equal(dx, tx.grad.numpy())
    np.testing.assert_array_equal(dy, ty.grad.numpy())
