"""The fault catalogue: scoped faults that always undo themselves (see docs/faults.md)."""
from chaos.faults.base import (EventCallback, Fault, FaultError, Node, NoFault, Topology,
                               proxy_name)
from chaos.faults.failover import IsolatePrimary, KillPrimary
from chaos.faults.flapping import FlappingLink
from chaos.faults.heal import HealError, HealReport, heal
from chaos.faults.instance import KillInstance, RollingRestart
from chaos.faults.network import MODES, BlackHole, ProxiesDown, cut_node_off, cut_service_from_node, partition
from chaos.faults.process import KillNode, NodeHandle, PauseNode
from chaos.faults.scope import FaultScope, Terminated
from chaos.faults.toxics import (ToxicFault, bandwidth, latency, limit_data, reset_peer, slicer,
                                 slow_close)

__all__ = [
    "EventCallback", "Fault", "FaultError", "Node", "NoFault", "Topology", "proxy_name",
    "IsolatePrimary", "KillPrimary", "FlappingLink", "HealError", "HealReport", "heal", "MODES", "BlackHole", "ProxiesDown",
    "cut_node_off", "cut_service_from_node", "partition",
    "KillNode", "NodeHandle", "PauseNode", "KillInstance", "RollingRestart", "FaultScope", "Terminated", "ToxicFault", "bandwidth", "latency",
    "limit_data", "reset_peer", "slicer", "slow_close",
]
