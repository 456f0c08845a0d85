"""WAVIS: Fully Homomorphic Encryption as a service. One namespace for the whole mesh."""

__version__ = "0.1.0"
