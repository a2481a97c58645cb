"""Observers of a run: metric samplers and node snapshots, alert probes, the progress line."""
