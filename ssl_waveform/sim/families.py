"""Labeled fault families and their class names.

Families (select with ``SimConfig.families``):

- ``switch`` (22 classes, the standard benchmark set): ``healthy``, the 6 single open-switch
  faults ``open:Sa+`` ... ``open:Sc-`` and the 15 double faults ``open:Sa+,Sa-`` ...
  (switch names in the order of ``SWITCHES``, comma-joined). The gate of an open switch is off for
  the whole simulation; its antiparallel diode still conducts.
- ``sensor``: one phase-current sensor misbehaves, the converter is healthy.
  ``sensor:gain`` (gain x0.5-0.8 or x1.2-1.5), ``sensor:offset`` (+-10-30 % of rated current),
  ``sensor:stuck`` (from a random instant the reading freezes at its last value or at zero),
  ``sensor:noise_burst`` (Gaussian noise of 10-30 % of rated current during 10-30 % of the window).
- ``dclink``: ``dclink:aged_capacitor``, a small, high-ESR DC-link capacitor fed through a source
  resistance, so the DC-link voltage ripples and sags (healthy windows have a stiff DC link).
- ``intermittent``: ``intermittent:open:Sa+`` ... one switch is open only during an interval
  covering 20-60 % of the window and conducts normally outside it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

from ssl_waveform.sim.point import SWITCHES

SENSOR_FAULTS: tuple[str, ...] = ("gain", "offset", "stuck", "noise_burst")

SWITCH_CLASSES: tuple[str, ...] = (
    "healthy",
    *(f"open:{s}" for s in SWITCHES),
    *(f"open:{a},{b}" for a, b in itertools.combinations(SWITCHES, 2)),
)
"""The 22 switch classes of the standard benchmark set."""

FamilyName = Literal["switch", "sensor", "dclink", "intermittent"]
"""The families' names as a type, for configs and command lines (tests check it matches :data:`FAMILIES`)."""

FAMILIES: dict[str, tuple[str, ...]] = {
    "switch": SWITCH_CLASSES,
    "sensor": tuple(f"sensor:{k}" for k in SENSOR_FAULTS),
    "dclink": ("dclink:aged_capacitor",),
    "intermittent": tuple(f"intermittent:open:{s}" for s in SWITCHES),
}
"""Family name -> its class names (``switch`` includes ``healthy``)."""


def class_names(families: Sequence[str] = ("switch",)) -> list[str]:
    """Class names of a labeled corpus made of ``families``, ``healthy`` always first.

    Raises:
        ValueError: an unknown family (the message lists the valid ones).
    """
    bad = [f for f in families if f not in FAMILIES]
    if bad or not families:
        raise ValueError(f"unknown or empty families {list(families)}; valid: {list(FAMILIES)}")
    names = ["healthy"]
    for fam in families:
        names += [c for c in FAMILIES[fam] if c not in names]
    return names


def open_switches(class_name: str) -> list[str]:
    """Open-circuited switches of a switch or intermittent class (``[]`` for other classes)."""
    body = class_name.removeprefix("intermittent:")
    if not body.startswith("open:"):
        return []
    return body.removeprefix("open:").split(",")
