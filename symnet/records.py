"""Bounded in-memory records that rules keep between nodes and between compiles.

Several rules remember what they wrote (a select → the sum it stands for, a widened body → its function class) so that
a rule at a node above can read it. Every reader asks ``key in record`` first and treats a missing entry as "not
written by the rule", so a forgotten entry only costs a later match, never a wrong result. Without a bound these
records grew with every formula compiled in a process (a server compiling users' formulas for days); here each keeps
its ``limit`` most recently written or read entries and forgets the least recently used first, as
``functools.lru_cache`` does. The limit is far above what one compile writes (tens) and above what the rewrite
module's own ``lru_cache``s of whole outputs (256 entries each) can hold results of, so that a cached output's
records are still there when it is reused: a fresh process and a long-lived one give the same kernel.
"""
from __future__ import annotations

from collections import OrderedDict

RECORD_LIMIT = 16384  # entries a record keeps: a thousand formulas' worth or so


class BoundedRecord(OrderedDict):
    """A mapping that keeps at most ``limit`` entries, forgetting the least recently written or read first.

    ``record[key] = value``, ``record[key]`` and ``record.get(key)`` count as uses; ``key in record`` does not.
    Only ``record[key] = value`` is bounded (the one way the rules write; ``setdefault``/``update`` are not used on
    these records). ``limit`` must be ≥ 1 (ValueError otherwise)."""

    __slots__ = ("limit",)

    def __init__(self, limit: int = RECORD_LIMIT):
        if limit < 1:
            raise ValueError(f"a record's limit must be at least 1, not {limit}")
        super().__init__()
        self.limit = limit

    def __setitem__(self, key, value):
        if key in self:
            self.move_to_end(key)
        else:
            while len(self) >= self.limit:
                self.popitem(last=False)  # the least recently used
        super().__setitem__(key, value)

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def get(self, key, default=None):
        return self[key] if key in self else default
