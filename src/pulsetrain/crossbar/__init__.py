"""Crossbar tiles of simulated devices: state, analog MVMs, pulse application kernels."""

from pulsetrain.crossbar.device_tensors import DeviceTensors
from pulsetrain.crossbar.kernels import available_backends
from pulsetrain.crossbar.tile import AnalogTile, PulseCounts

__all__ = ["AnalogTile", "DeviceTensors", "PulseCounts", "available_backends"]
