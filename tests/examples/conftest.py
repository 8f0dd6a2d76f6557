"""Fixtures: the stub-rendering emulator the v3 tests share."""

from tests.support.v3_emulator import emulator, v3_emulator

__all__ = ["emulator", "v3_emulator"]
