"""The parts of the benchmark worker script, benchmark_model.py.

Like the script, they import only the standard library, numpy, yaml and the ML
runtime of the model at hand (that one lazily), never lpot_ux: the script runs
by path, with this package found beside it.
"""
