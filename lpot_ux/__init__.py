"""lpot_ux: how much faster an optimized model runs than its original."""

__version__ = "0.1.0"
