"""Evaluation: benchmark runner, metrics, reports."""
