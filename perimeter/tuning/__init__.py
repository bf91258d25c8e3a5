"""Threshold tuning: sweeps over named thresholds, recommendation, ROC plot, live apply."""
