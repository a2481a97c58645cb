"""The nemesis: what is done to the stack during a run. schedule.py turns an experiment's fault
schedule into faults (chaos/faults/); a DR drill's disasters are in chaos/drills/disasters.py."""
