"""Offline evaluation: run scenarios through the fusion and score them against ground truth."""
