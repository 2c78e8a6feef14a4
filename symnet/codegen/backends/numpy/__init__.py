"""The NumPy backend: :mod:`.printer` (expressions over whole arrays), :mod:`.elementwise`
(buffer-reusing elementwise modules), :mod:`.rowwise` (row-wise kernels)."""
