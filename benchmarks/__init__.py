"""Benchmarks of the emulator (``make bench`` / ``python -m benchmarks``): figures, no pass/fail.

Each benchmark module has a ``run(report)`` function; ``benchmarks.__main__``
lists them in ``BENCHMARKS``.  Add one by writing a module and appending it
there.
"""
