"""What a training run reports: typed per-epoch metrics, and the events a run emits.

The per-epoch record is a plain dict on the wire and in the store (JSON), typed here as
:class:`EpochMetrics` for everything that reads it (store, energy, analysis, report).
A run does not write the results store itself: it emits :class:`RunEvent` s to a sink
(:data:`EventSink`) — the store of ``pulsetrain train``, or the study driver, which is
the single writer of a study's store whatever executor trains the runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict


class LayerPulses(TypedDict):
    """Programming pulses of one analog layer (all tiles the update rule owns there)."""

    up: int
    down: int
    up_total: int
    down_total: int


class EpochMetrics(TypedDict, total=False):
    """One finished epoch of one run (the ``metrics`` JSON of a store row)."""

    epoch: int
    lr: float
    train_loss: float
    val_acc: float
    test_acc: float
    pulses: int
    """Programming pulses of this epoch, all layers."""
    pulses_total: int
    """Programming pulses since the start of training."""
    layers: list[LayerPulses]
    wall_s: float
    digital_updates_total: int
    """Digital multiply-adds so far (mixed precision's accumulator)."""
    sp_estimation_pulses: int
    """Pulses spent once, before training, finding the symmetry points (SP shifting)."""
    stacked_runs: int
    """The run trained in a stack of this many runs."""
    reads: dict[str, float]
    """Array reads of training so far: ``dac_total``, ``adc_total`` (conversions) and
    ``array_sum_total`` (an upper bound of Σ v² Σ G, siemens; :mod:`pulsetrain.energy.read`)."""


@dataclass(frozen=True)
class RunEvent:
    """Something a run reports: it ``start`` s (config, status), finishes an ``epoch``
    (metrics; ``replay`` for epochs restored from a checkpoint on resume), or is ``done``."""

    kind: Literal["start", "epoch", "done"]
    key: str
    config: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    epoch: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    replay: bool = False


EventSink = Callable[[RunEvent], None]
"""Where a run's events go."""
