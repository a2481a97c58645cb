"""The live dashboard: CP and AP side by side during a run, fault bands, a halt button (docs/dashboard.md)."""
