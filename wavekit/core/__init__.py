"""The shared autoregressive core: knows nothing of audio or images."""
