"""chaostoolkit-caplab: caplab's scoped faults, probes and checkers inside `chaos run`.

- `chaostoolkit_caplab.actions`: one action per fault of caplab's catalogue, `heal`, `mark`;
- `chaostoolkit_caplab.probes`: breakers, staleness, a CP write, an AP read, convergence, `check`;
- `chaostoolkit_caplab.control`: records a caplab history during the run and judges it at the end.

`discover()` lists every activity with its arguments and docs (`chaos discover chaostoolkit-caplab`);
docs/ctk.md is generated from it.
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["discover", "__version__"]

MODULES = {"action": "chaostoolkit_caplab.actions", "probe": "chaostoolkit_caplab.probes"}


def discover(discover_system: bool = True) -> dict:
    """Every action and probe of the extension, with its arguments and docs (no system discovery:
    the stack is named by the experiment's configuration, see docs/ctk.md)."""
    from chaoslib.discovery.discover import discover_activities, initialize_discovery_result
    discovery = initialize_discovery_result("chaostoolkit-caplab", __version__, "caplab")
    for kind, module in MODULES.items():
        discovery["activities"].extend(discover_activities(module, kind))
    return discovery
