"""The training algorithms as a registry: one class per algorithm, ``float`` included.

Each entry declares its ``name`` (the ``algorithm:`` value of configs), its default
learning rate, the :class:`~pulsetrain.training.config.TrainConfig` options that belong
to it (set on another algorithm they are an error, not silently ignored), whether it
trains on analog tiles, and how it builds its update rule.  The tiles an update rule
owns are its own business (:meth:`AnalogOptimizer.layer_tiles`): pulse counts and energy
are summed over all of them.  Adding an algorithm is one subclass plus
:func:`register_algorithm`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import nn

from pulsetrain.crossbar.symmetry import SymmetryProgressCallback
from pulsetrain.errors import InputError
from pulsetrain.plugins import Registry
from pulsetrain.training.algorithms import (
    MixedPrecisionSGD,
    StochasticPulseSGD,
    SymmetryShiftReport,
    shift_to_symmetry_point,
)
from pulsetrain.training.layers import analog_layers
from pulsetrain.training.transfer import AGAD, ChoppedTTv2, TransferSettings, TransferSGD

if TYPE_CHECKING:
    from pulsetrain.training.config import TrainConfig


class TrainingAlgorithm(ABC):
    """One training algorithm: its name, defaults, options and how to build it."""

    name: ClassVar[str]
    default_lr: ClassVar[float]
    analog: ClassVar[bool] = True
    """Whether the network's weights live on analog tiles (False: ``nn.Linear``)."""
    options: ClassVar[tuple[str, ...]] = ()
    """TrainConfig fields that only this algorithm (and others listing them) reads."""
    setup_progress: SymmetryProgressCallback | None = None
    """Set on an instance before :meth:`build` to hear how a slow set-up proceeds (SP
    shifting: the symmetry-point estimation); ignored by algorithms without one."""

    @abstractmethod
    def build(self, model: nn.Module, cfg: TrainConfig, lr: float
              ) -> tuple[torch.optim.Optimizer, SymmetryShiftReport | None]:
        """The update rule for ``model``, and what setting it up cost (SP estimation)."""


ALGORITHMS: Registry[type[TrainingAlgorithm]] = Registry("algorithm")
"""Registered algorithm classes by name."""
register_algorithm = ALGORITHMS.register
"""Register an algorithm class under its ``name`` (usable as a decorator)."""


def algorithm(name: str) -> TrainingAlgorithm:
    """The registered algorithm ``name`` (``ValueError`` listing the registered names for
    an unknown one)."""
    return ALGORITHMS[name]()


PULSE_OPTIONS: tuple[str, ...] = ("bl", "update_management", "bl_management", "granularity")


@register_algorithm
class PlainSGD(TrainingAlgorithm):
    """Analog SGD with stochastic pulse trains (:class:`StochasticPulseSGD`)."""

    name = "sgd"
    default_lr = 0.05
    options: ClassVar[tuple[str, ...]] = PULSE_OPTIONS

    def build(self, model: nn.Module, cfg: TrainConfig, lr: float
              ) -> tuple[torch.optim.Optimizer, SymmetryShiftReport | None]:
        return StochasticPulseSGD(model, lr=lr, bl=cfg.bl,
                                  update_management=cfg.update_management,
                                  bl_management=cfg.bl_management, seed=cfg.seed,
                                  granularity=granularity_for(model, cfg)), None


@register_algorithm
class MixedPrecision(TrainingAlgorithm):
    """Mixed-precision SGD (:class:`MixedPrecisionSGD`)."""

    name = "mixed-precision"
    default_lr = 0.5
    options = ("mp_epsilon", "mp_transfer", "bl")

    def build(self, model: nn.Module, cfg: TrainConfig, lr: float
              ) -> tuple[torch.optim.Optimizer, SymmetryShiftReport | None]:
        eps = (_aihwkit_granularity(model, "mp_epsilon") if cfg.mp_epsilon == "aihwkit"
               else cfg.mp_epsilon)
        return MixedPrecisionSGD(model, lr=lr, epsilon=eps, seed=cfg.seed,
                                 transfer=cfg.mp_transfer, bl=cfg.bl), None


@register_algorithm
class SymmetryPointShifting(PlainSGD):
    """References at each device's symmetry point, then plain analog SGD."""

    name = "sp-shift"
    default_lr = 0.1
    options = (*PULSE_OPTIONS, "sp_mode", "sp_offset", "sp_reference")

    def build(self, model: nn.Module, cfg: TrainConfig, lr: float
              ) -> tuple[torch.optim.Optimizer, SymmetryShiftReport | None]:
        report = shift_to_symmetry_point(model, cfg.sp_mode, cfg.sp_offset,
                                         reference_for(model, cfg),
                                         on_progress=self.setup_progress)
        opt, _ = super().build(model, cfg, lr)
        return opt, report


def granularity_for(model: nn.Module, cfg: TrainConfig) -> float | None:
    """``cfg.granularity`` resolved: ``"aihwkit"`` is the granularity AIHWKit's pulse
    management uses for the device (:func:`pulsetrain.interop.aihwkit_granularity`)."""
    if cfg.granularity != "aihwkit":
        return cfg.granularity
    return _aihwkit_granularity(model, "granularity")


def _aihwkit_granularity(model: nn.Module, option: str) -> float:
    """AIHWKit's granularity of the model's device (``option``: the config key, for the
    error when AIHWKit cannot represent the device)."""
    from pulsetrain.interop.aihwkit_params import aihwkit_granularity

    try:
        return aihwkit_granularity(analog_layers(model)[0].tile.device)
    except ValueError as exc:  # AIHWKit cannot represent the device
        raise InputError(f"{option}: aihwkit needs a device AIHWKit can represent: "
                         f"{exc}") from None


def reference_for(model: nn.Module, cfg: TrainConfig) -> float | None:
    """The given SP-shifting reference of ``cfg`` (``sp_reference``), resolved.

    Raises
    ------
    InputError
        For ``"reported"`` on a device whose metrics carry no ``symmetry_point_reported``.
    """
    if cfg.sp_reference is None or isinstance(cfg.sp_reference, float | int):
        return None if cfg.sp_reference is None else float(cfg.sp_reference)
    layers = analog_layers(model)
    device = layers[0].tile.device
    value = device.metrics.get("symmetry_point_reported")
    if value is None:
        raise InputError(f"sp_reference 'reported': device {device.name!r} has no "
                         "metrics.symmetry_point_reported (the thesis-recipe built-ins do)")
    return float(value)


class _Transfer(TrainingAlgorithm):
    """A Tiki-Taka-family rule (:mod:`pulsetrain.training.transfer`)."""

    rule: ClassVar[type[TransferSGD]]
    default_lr = 0.1
    options = ("transfer", "update_management", "bl_management")

    def build(self, model: nn.Module, cfg: TrainConfig, lr: float
              ) -> tuple[torch.optim.Optimizer, SymmetryShiftReport | None]:
        opt = self.rule(model, lr=lr, settings=TransferSettings(**cfg.transfer),
                        seed=cfg.seed, periphery=cfg.periphery,
                        periphery_options=cfg.periphery_options,
                        update_management=cfg.update_management,
                        bl_management=cfg.bl_management)
        report = (opt.shift_a_to_symmetry_points(self.setup_progress)
                  if opt.settings.a_reference == "sp" else None)
        return opt, report


@register_algorithm
class TikiTakaV2(_Transfer):
    """Tiki-Taka v2 (Gokmen 2021): A, a digital buffer, C."""

    name = "ttv2"
    rule = TransferSGD


@register_algorithm
class ChoppedTikiTakaV2(_Transfer):
    """Chopped TTv2 (Rasch et al. 2024)."""

    name = "c-ttv2"
    rule = ChoppedTTv2


@register_algorithm
class AnalogGradientAccumulationDynamic(_Transfer):
    """AGAD: chopped TTv2 with a dynamic reference per column (Rasch et al. 2024)."""

    name = "agad"
    rule = AGAD


@register_algorithm
class FloatBaseline(TrainingAlgorithm):
    """The floating-point baseline: ``nn.Linear`` layers and ``torch.optim.SGD``
    (0.5; 0.01 in the thesis gave a weak 94 %)."""

    name = "float"
    default_lr = 0.5
    analog = False

    def build(self, model: nn.Module, cfg: TrainConfig, lr: float
              ) -> tuple[torch.optim.Optimizer, SymmetryShiftReport | None]:
        return torch.optim.SGD(model.parameters(), lr=lr), None


def owned_options() -> dict[str, list[str]]:
    """Option → the algorithms it belongs to."""
    out: dict[str, list[str]] = {}
    for name in ALGORITHMS:
        for option in ALGORITHMS[name].options:
            out.setdefault(option, []).append(name)
    return out
