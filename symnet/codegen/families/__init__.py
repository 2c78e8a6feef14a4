"""Kernel families: what a kernel computes, backend-independent.

- :mod:`.rowwise`: softmax, log-softmax, logsumexp and cross-entropy over (N, V) rows;
- :mod:`.dense`: dense layers and the Elman RNN step, from their index-form derivations;
- :mod:`.step`: a whole training step (forward, loss, backpropagation, update);
- :mod:`.update_rules`: SGD, momentum and Adam derived as update rules.

The elementwise family is the kernel description itself (:mod:`symnet.codegen.ir`).
Each backend under :mod:`symnet.codegen.backends` has one skeleton per family.
"""
