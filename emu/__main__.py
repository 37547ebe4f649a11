"""``python -m emu`` and the ``ffa-emu`` command: ``emu.cli.main`` as a process of its own."""

import gc


def run() -> int:
    """Import the command line with the cyclic GC off, then freeze what the imports made, and run it.

    The imports make tens of thousands of objects (modules, classes, functions) that live as long as the
    process: collecting while they are made finds nothing, and frozen they are not rescanned by the run's
    collections or at exit (together 7% of ``run -q hello.elf``).  In-process callers of ``main`` (the
    tests) do not come here, so nothing of theirs is frozen.
    """
    gc.disable()
    try:
        from emu.cli import main
    finally:
        gc.freeze()
        gc.enable()
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
