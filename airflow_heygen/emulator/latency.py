"""The ``latency`` fault setting: how long a job takes at least."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LatencyRange:
    """
    The minimum time a job takes, drawn uniformly from ``[low, high]`` seconds per job.

    :param low: shortest latency in seconds.
    :param high: longest latency in seconds.
    """

    low: float = 0.0
    high: float = 0.0

    def __post_init__(self) -> None:
        if self.low < 0 or self.high < self.low:
            raise ValueError(f"invalid latency range {self.low}-{self.high}")

    @classmethod
    def parse(cls, value: object) -> LatencyRange:
        """
        Parse ``2``, ``"2"``, ``"1-3"``, ``"1.5-2.5"`` or ``[1, 3]``.

        :param value: the latency as given on the command line or in JSON.
        :raises ValueError: when it is not a number or a range of non-negative numbers.
        """
        if isinstance(value, bool):
            raise ValueError(f"invalid latency {value!r}")
        if isinstance(value, int | float):
            return cls(float(value), float(value))
        if isinstance(value, list | tuple) and len(value) == 2:
            return cls(float(value[0]), float(value[1]))
        if isinstance(value, str):
            text = value.strip()
            low, sep, high = text.partition("-")
            try:
                return cls(float(low), float(high)) if sep else cls(float(text), float(text))
            except ValueError:
                raise ValueError(
                    f"invalid latency {value!r}: use seconds like 2 or a range like 1-3"
                ) from None
        raise ValueError(f"invalid latency {value!r}")

    def to_json(self) -> str:
        """The range as text, ``"2"`` or ``"1-3"``."""
        if self.low == self.high:
            return f"{self.low:g}"
        return f"{self.low:g}-{self.high:g}"
