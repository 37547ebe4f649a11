"""The exception FF-A handlers raise to answer FFA_ERROR."""

from emu.ffa import constants as ffa


class FfaError(Exception):
    """An FF-A error to return to the caller; ``code`` is the FF-A error code."""

    def __init__(self, code: int) -> None:
        super().__init__(ffa.ERROR_NAMES.get(code, str(code)))
        self.code = code
