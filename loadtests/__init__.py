"""Load tests: a Locust workload for both services, load shapes, thresholds, and histories.

Import `loadtests.run` or `loadtests.workload` from plain Python; they start Locust in its own
process, so gevent's monkey-patching never reaches the caller.
"""
