"""Showing a run: report.md/html (build.py), plots, the fault-window table, the violation timeline,
the alert timeline, and the Porcupine cross-check."""
