"""Estimation: sample statistics, discrepancy functions, optimiser, inference and fit measures."""
