"""The region failover drill: the primary region is lost under load, the standby region takes over.

The primary region is the native side of the stack (n1..n3 and their Sentinels); the standby
region is one redis-server replicating the native primary asynchronously over a WAN link with
40 ms +/- 10 ms each way (stack/standby.py). The runbook (docs/disaster-recovery.md, "Region
failover"), one timed step each:

    restore:promote-standby   redis-cli -p <standby> REPLICAOF NO ONE
    restore:repoint-native    restart the native service with REDIS_NODES=dr1=<standby>, NATIVE_SENTINELS=

RPO: the acknowledged writes missing from the promoted standby, and the replication lag at the
moment of loss (bytes of the replication stream the standby had not received, and the age of the
oldest lost write). RTO: from the disaster to the native service serving again from the standby.
After the drill, the primary region is started again and the service pointed back at it; the
standby is stopped (failing back the standby's newer writes is not part of the drill).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from .disasters import Disaster, DrillContext

SETTLE_S = 3.0  # load over the WAN link before the disaster, so the standby is in steady state


@dataclass(frozen=True)
class RegionFailover(Disaster):
    services: tuple = ("native",)
    latency_ms: int = 40
    jitter_ms: int = 10

    def prepare(self, ctx: DrillContext) -> None:
        """Start the standby region on the current primary, and let it replicate under load."""
        stack = ctx.stack
        primary = stack.native.primary()
        if primary is None:
            raise RuntimeError("the Sentinels name no native primary; the standby has nothing to replicate")
        with stack.client() as tp:  # not a runbook step: the DR site exists before the disaster
            stack.standby.start(tp, primary, self.latency_ms, self.jitter_ms)
        ctx.say(f"  standby dr1 in sync with {primary} over the WAN link ({self.latency_ms} ms +/- "
                f"{self.jitter_ms} ms each way)")
        time.sleep(SETTLE_S)
        ctx.region.update(primary=primary, wan={"latency_ms": self.latency_ms, "jitter_ms": self.jitter_ms})

    def inject(self, ctx: DrillContext) -> str:
        """Lose the region at once: its WAN link is cut (what is in flight is lost), its nodes and
        Sentinels are killed; the replication lag at that moment is measured first."""
        stack, primary = ctx.stack, ctx.region["primary"]
        offset = _primary_offset(stack.native.nodes[primary])
        with stack.client() as tp:
            tp.set_enabled("wan_dr1", False)
        for proc in [*stack.native.nodes.values(), *stack.native.sentinels]:
            proc.kill()
        ctx.region["lag_at_loss"] = stack.standby.lag(offset)
        return "region:" + ",".join(stack.native.nodes)

    def recover(self, ctx: DrillContext) -> None:
        stack = ctx.stack
        with ctx.step("promote-standby", "dr1") as note:
            stack.standby.promote()
            lag = ctx.region.get("lag_at_loss", {})
            note[0] = f"promoted; it was {lag.get('lag_bytes')} bytes of replication stream behind at the loss"
        with ctx.step("repoint-native", "native") as note:
            stack.repoint_native("dr1", "127.0.0.1", stack.config.standby_port("client"), progress=lambda _m: None)
            note[0] = "native service on dr1, without Sentinel"

    def survivors(self, ctx: DrillContext) -> dict:
        """The nodes whose data counts after recovery: the promoted standby."""
        return {"dr1": ctx.stack.standby.node}

    def heal(self, ctx: DrillContext) -> list[str]:
        """Bring the primary region back and point the service at it again; stop the standby."""
        stack, notes = ctx.stack, []
        for proc in [*stack.native.nodes.values(), *stack.native.sentinels]:
            if not proc.running():
                proc.start()
        stack.native.wait_ready()
        stack.restore_native(progress=lambda _m: None)
        stack.standby.stop()
        notes.append(f"primary region restarted (primary {stack.native.primary()}), the native service pointed "
                     f"back at it, the standby stopped")
        return notes


def _primary_offset(node) -> int | None:
    try:
        with node.client(decode_responses=True) as c:
            return int(c.info("replication")["master_repl_offset"])
    except (redis.RedisError, KeyError, ValueError):
        return None


REGION_FAILOVER = RegionFailover(
    "region-failover", "the primary region lost under load; the standby region promoted",
    "The standby replicates asynchronously over a 40 ms WAN link, so at the loss it lacks the last tens of "
    "milliseconds of writes: a handful of acknowledged writes are lost, a loss window far within the 5 min "
    "RPO; promoting the standby and pointing the native service at it takes seconds, far within the 15 min RTO.",
    "asynchronous replication to the standby region (the WAN link's lag)", backups=False)
