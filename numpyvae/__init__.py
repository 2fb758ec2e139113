"""numpyvae: variational autoencoders in NumPy with hand-derived gradients."""

__version__ = "0.1.0"

from .datasets import load_dataset
