"""Range checks for configuration values: each failure names its field, so a preset's error can name
the YAML line too.

The configuration dataclasses (``TrainConfig``, ``BaselineConfig``, ``DiffusionTrainConfig``) and the
notebook parameters of a preset (:data:`g2p.presets.PARAMETER_RANGES`) call these; they raise
:class:`RangeError`, a ``ValueError`` carrying the field's name, which :mod:`g2p.presets` turns into
``error: params/quick.yaml, line 31, field 'genepheno.lr': …``. Numbers must be finite (no ``.nan``,
no ``.inf``), integers must be integers (not booleans), and the widths of networks have a stated
maximum: a value past it would only come back from torch as an allocation failure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Largest width (units of a layer, embedding size) a configuration may ask for: 16× the paper
#: preset's widest layer; past it one layer alone needs gigabytes.
MAX_WIDTH = 16384
#: Largest depth (layers of one stack).
MAX_DEPTH = 64


class RangeError(ValueError):
    """A configuration value out of its range; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field} {message}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer(field: str, value: object, *, minimum: int | None = None, maximum: int | None = None,
            optional: bool = False) -> None:
    """``value`` is an integer in [minimum, maximum] (or None when ``optional``)."""
    if value is None and optional:
        return
    if not _is_int(value):
        raise RangeError(field, f"must be an integer, got {value!r}")
    if minimum is not None and value < minimum:  # type: ignore[operator]
        raise RangeError(field, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:  # type: ignore[operator]
        raise RangeError(field, f"must be at most {maximum}, got {value}")


def number(field: str, value: object, *, minimum: float | None = None, maximum: float | None = None,
           above: float | None = None, below: float | None = None, optional: bool = False) -> None:
    """``value`` is a finite number with ``minimum ≤ value ≤ maximum`` and ``above < value < below``."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RangeError(field, f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise RangeError(field, f"must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise RangeError(field, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise RangeError(field, f"must be at most {maximum}, got {value}")
    if above is not None and value <= above:
        raise RangeError(field, f"must be greater than {above}, got {value}")
    if below is not None and value >= below:
        raise RangeError(field, f"must be less than {below}, got {value}")


def fraction(field: str, value: object, *, open_top: bool = False) -> None:
    """A probability-like number in [0, 1] (or [0, 1) with ``open_top``)."""
    number(field, value, minimum=0.0, **({"below": 1.0} if open_top else {"maximum": 1.0}))


def choice(field: str, value: object, allowed: Sequence[object]) -> None:
    if value not in allowed:
        raise RangeError(field, f"must be one of {', '.join(map(repr, allowed))}, got {value!r}")


def integers(field: str, values: object, *, minimum: int | None = None, maximum: int | None = None,
             nonempty: bool = True) -> None:
    """A list of integers, each in [minimum, maximum]."""
    if not isinstance(values, (list, tuple)):
        raise RangeError(field, f"must be a list of integers, got {values!r}")
    if nonempty and not values:
        raise RangeError(field, "must list at least one value")
    for value in values:
        if not _is_int(value):
            raise RangeError(field, f"must be a list of integers, got {values!r}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise RangeError(field, f"values must be {bounds}, got {value} in {list(values)}")


def width(field: str, value: object, *, minimum: int = 1) -> None:
    integer(field, value, minimum=minimum, maximum=MAX_WIDTH)


def depth(field: str, value: object, *, minimum: int = 1) -> None:
    integer(field, value, minimum=minimum, maximum=MAX_DEPTH)


def divides(field: str, value: int, divisor_field: str, divisor: int) -> None:
    """``value`` is a multiple of ``divisor`` (attention heads of a width)."""
    if divisor and value % divisor:
        raise RangeError(field, f"({value}) must be a multiple of {divisor_field} ({divisor})")
