"""Hardware-aware training: analog layers, update algorithms, data, the training loop."""
