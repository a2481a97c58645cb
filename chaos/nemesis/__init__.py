"""The nemesis: what is done to the stack during a run (chaos/run/protocols.Nemesis). fault_types.py
is the table of fault types an experiment's schedule may name (their parameters and builders);
scheduled.py applies a schedule in time as a nemesis. A DR drill's disaster is chaos/drills/nemesis.py."""
