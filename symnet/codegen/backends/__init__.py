"""Backends: one printer each (expression class → source, the differences in tables) and one
skeleton per kernel family (``elementwise``, ``rowwise``, ``dense``, ``step``).

:mod:`.printing` holds what both printers share (Piecewise, comparisons, And/Or, Max/Min).
"""
