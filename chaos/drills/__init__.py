"""Drills: the DR drill (a disaster as the nemesis, RPO and RTO as checkers) and the alerts drill."""
