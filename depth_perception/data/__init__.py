"""Package data: the default model weights (read through importlib.resources)."""
