"""Sensor models of a tower: thermal imager and acoustic array (physics in docs/sensors.md)."""
