"""pulsetrain: accuracy, convergence and energy of on-chip training with measured synapses.

Data flow: measurements → devices (lookup-table models, metrics) → (engine, training,
energy, study: later) → report.
"""

__version__ = "0.1.0"
