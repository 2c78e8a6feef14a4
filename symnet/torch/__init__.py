"""symnet as a PyTorch library. ``symnet.torch.optim``: the fused training step as an optimizer."""
