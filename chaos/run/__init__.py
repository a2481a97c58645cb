"""Running one experiment: the lifecycle (runner.py) and the steady-state checks before and after."""
