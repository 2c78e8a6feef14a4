"""Bounded in-memory records that rules keep between nodes and between compiles.

Several rules remember what they wrote (a select → the sum it stands for, a widened body → its function class) so that
a rule at a node above can read it. Every reader asks ``key in record`` first and treats a missing entry as "not
written by the rule", so a forgotten entry only costs a later match, never a wrong result. Without a bound these
records grew with every formula compiled in a process (a server compiling users' formulas for days); here each keeps
its newest ``limit`` entries and forgets the oldest first (insertion order, as ``functools.lru_cache`` without the
reordering on a hit, which the rules' read-once pattern does not need).
"""
from __future__ import annotations

RECORD_LIMIT = 4096  # entries a record keeps: a few hundred formulas' worth (one compile writes tens)


class BoundedRecord(dict):
    """A ``dict`` that keeps at most ``limit`` entries, forgetting the oldest inserted first.

    Only ``record[key] = value`` is bounded (the one way the rules write); ``setdefault``/``update`` are not used on
    these records. ``limit`` must be ≥ 1 (ValueError otherwise)."""

    __slots__ = ("limit",)

    def __init__(self, limit: int = RECORD_LIMIT):
        if limit < 1:
            raise ValueError(f"a record's limit must be at least 1, not {limit}")
        super().__init__()
        self.limit = limit

    def __setitem__(self, key, value):
        if key not in self:
            while len(self) >= self.limit:
                del self[next(iter(self))]  # the oldest: dicts keep insertion order
        super().__setitem__(key, value)
