"""The Triton backend: :mod:`.elementwise` (the printer and the elementwise skeleton),
:mod:`.rowwise`, :mod:`.dense` (tiled matrix products with fused epilogues) and :mod:`.step`
(a whole training step in one launch)."""
