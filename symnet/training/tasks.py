"""The training tasks of the lecture, and the base every task follows."""
from __future__ import annotations

from ..errors import UnknownNameError

__all__ = ["Task", "TASKS", "get_task"]


class Task:
    """One of the lecture's networks with its data.

    A task names its defaults (epochs, learning rate, batch), the backends it runs on,
    and supplies: ``prepare`` (the data), ``init_params`` (the weights, from the run's
    random generator), ``engine`` (one SGD step per backend), ``evaluate`` (metrics after
    each epoch), ``report`` (the final summary) and ``plot`` (figures for ``--plot``).
    """

    name = ""
    summary = ""
    defaults = {"epochs": 1, "lr": 0.1, "batch": 1}
    backends = ("numpy", "torch")
    shuffle = True
    examples = 0

    def prepare(self, settings) -> None:
        raise NotImplementedError

    def learning_rate(self, settings, step: int, steps: int) -> float:
        """The learning rate of global step ``step`` of ``steps``: constant by default."""
        return settings.lr

    def init_params(self, rng) -> dict:
        raise NotImplementedError

    def engine(self, backend: str, params: dict):
        raise NotImplementedError

    def evaluate(self, params: dict) -> dict:
        return {}

    def final_metrics(self, params: dict) -> dict:
        return {}

    def progress_text(self, record: dict) -> str:
        return f"loss {record['loss']:.4g}"

    def report(self, result) -> list[str]:
        return []

    def plot(self, result, figure) -> None:
        """Draw on a matplotlib figure: the loss curve, then the task's own panel."""
        raise NotImplementedError


def legend_both(ax, twin) -> None:
    """One legend for a plot with two y axes (``twin = ax.twinx()``): both axes' lines."""
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    twin.legend(h1 + h2, l1 + l2, loc="center right", fontsize="small")


def _registry() -> dict:
    from .classic import Miles, Perceptron
    from .mlp import Digits, Xor
    from .rnn import DelayedRecall
    return {t.name: t for t in (Miles, Perceptron, Xor, Digits, DelayedRecall)}


TASKS = ("miles", "perceptron", "xor", "digits", "rnn")


def get_task(name: str) -> Task:
    tasks = _registry()
    if name not in tasks:
        import difflib
        lower = {t.lower(): t for t in TASKS}
        close = ([lower[name.lower()]] if isinstance(name, str) and name.lower() in lower else
                 difflib.get_close_matches(str(name).lower(), list(TASKS), n=1))
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownNameError(f"unknown task {name!r}{hint}; choose one of: {', '.join(TASKS)}")
    return tasks[name]()
