"""Workloads: client threads (threads.py) or Locust (locust.py), both writing the run's history."""
