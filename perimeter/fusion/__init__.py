"""Sensor fusion: bearings from towers to tracks, origins, classes and alerts.

Stages (one module each): ``gate`` → ``associate`` → ``ekf`` (estimate) → ``triangulate``
(initiate) → ``manage`` → ``origin`` → ``classify`` → ``alert`` / ``health``, composed by
``engine`` and driven by ``runner.FusionRunner``; ``replay`` fuses recordings.
"""
