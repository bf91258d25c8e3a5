"""Western Heights perimeter monitor: core library (contract, geometry, fusion, alerts, store)."""

__version__ = "0.1.0"
