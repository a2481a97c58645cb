"""The DR drill's catalogue of disasters, and the automated runbook that recovers from each.

Each disaster is one small object: ``inject(ctx)`` does the damage, ``recover(ctx)`` follows the
runbook of docs/disaster-recovery.md with the same functions as its commands, one timed step at a
time (each step a ``restore:<step>`` window in the history, so the report shades it). ``expect``
is what the drill should measure: the total-loss drill is there to prove that a real loss is
reported, so it is expected to fail its RPO.

    runbook step (FaultEvent)   manual command
    restore:verify-<node>       python -m backup verify --node <node> --backup <name>
    restore:<node>              make restore NODE=<node> BACKUP=<name>   (restore_snapshot)
    restore:start-<node>-empty  make up                                  (starts the missing node)
    restore:repair              make repair                              (stack_repair)
"""
from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from backup.aof import AofTail
from backup.catalog import list_backups
from backup.restore import restore_snapshot, stack_repair
from backup.verify import check_backup
from harness.history import FaultEvent


@dataclass
class DrillContext:
    """What a disaster acts on: the stack, the backup folder, the history, and the runbook's record."""

    stack: object
    backups_root: object
    rec: object
    say: object = print
    steps: list = field(default_factory=list)  # {"step", "target", "start", "seconds", "ok", "detail"}
    restored: dict = field(default_factory=dict)  # node -> backup name
    rejected: list = field(default_factory=list)  # {"backup", "reason"}: backups that failed verify
    moved: dict = field(default_factory=dict)  # node -> where its lost data folder went
    inner: dict = field(default_factory=dict)  # node -> restore_snapshot's own steps and durations
    torn: dict = field(default_factory=dict)  # node -> the AOF tail the aof-tail-torn disaster cut off
    aof: dict = field(default_factory=dict)  # node -> AofTail sampler (aof-tail-torn only)
    region: dict = field(default_factory=dict)  # region-failover: the primary lost, the lag at the loss

    @contextmanager
    def step(self, name: str, target: str = "stack"):
        """Time one runbook step and write it as a restore:<name> window into the history."""
        t, wall = self.rec.now()
        self.rec.write(FaultEvent("start", f"restore:{name}", target, t, wall))
        note, ok = [""], False
        self.say(f"  [runbook] {name} ...")
        try:
            yield note
            ok = True
        finally:
            t2, wall2 = self.rec.now()
            self.rec.write(FaultEvent("stop", f"restore:{name}", target, t2, wall2, {"ok": ok, "detail": note[0]}))
            self.steps.append({"step": name, "target": target, "start": round(t, 3), "seconds": round(t2 - t, 3),
                               "ok": ok, "detail": note[0]})
            self.say(f"  [runbook] {name} {'done' if ok else 'FAILED'} in {t2 - t:.2f}s {note[0]}")

    def node(self, name: str):
        return self.stack.nodes[name]

    def wipe(self, name: str) -> None:
        """kill -9 the node, then move its data folder aside: it will start empty.

        The lost folder goes into the drill's run folder (``lost/<node>-<time>``), kept for forensics
        next to the drill's evidence rather than piling up beside the stack's live data."""
        node = self.node(name)
        node.kill()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        if node.data_dir.exists():
            aside = Path(self.backups_root).parent / "lost" / f"{name}-{stamp}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(node.data_dir), aside)
            self.moved[name] = str(aside)

    def verified_backup(self, name: str, oldest: bool = False):
        """The newest (or oldest) backup of a node that verifies; failed ones are noted. None when none does."""
        backups, rejected = list_backups(self.backups_root, name), 0
        with self.step(f"verify-{name}", name) as note:
            for b in (reversed(backups) if oldest else backups):
                report = check_backup(b, progress=lambda _m: None)
                if report.ok:
                    note[0] = f"{b.name} valid" + (f" (after {rejected} rejected)" if rejected else "")
                    return b
                rejected += 1
                self.rejected.append({"backup": b.name, "reason": report.reason})
                self.say(f"  [runbook] {b.name} does NOT verify ({report.reason}); trying an older one")
            note[0] = f"no valid backup of {name} among {len(backups)}"
            return None

    def restore(self, name: str, backup, repair: bool) -> None:
        """make restore NODE=<name> BACKUP=<backup> (the node is down), or start it empty when there is none."""
        node = self.node(name)
        if backup is None:
            with self.step(f"start-{name}-empty", name):
                node.start()
            return
        with self.step(name, name) as note:
            report = restore_snapshot(node, backup, force=True, progress=lambda _m: None,
                                      repair=stack_repair(self.stack.config) if repair else None)
            self.restored[name] = backup.name
            note[0] = f"from {backup.name}: {report.keys} keys in {len(report.steps)} steps"
            if report.repair and report.repair.get("error"):
                raise RuntimeError(report.repair["error"])
        self.inner[name] = [{"step": s.name, "seconds": s.seconds, "ok": s.ok, "detail": s.detail} for s in report.steps]

    def repair(self) -> None:
        with self.step("repair") as note:
            result = stack_repair(self.stack.config)()
            note[0] = f"{result.get('keys')} keys compared, copied {result.get('copied')}"


@dataclass(frozen=True)
class Disaster:
    name: str
    title: str
    hypothesis: str
    mechanism: str  # what should bound the loss
    expect: dict = field(default_factory=lambda: {"rpo": "pass", "rto": "pass"})
    backups: bool = True  # whether the drill's backup schedule runs
    services: tuple = ("cp", "ap")  # the services under load, whose writes the RPO counts

    def prepare(self, ctx: DrillContext) -> None:
        """Called under load just before the disaster's time is taken; most disasters need nothing."""

    def survivors(self, ctx: DrillContext) -> dict:
        """The nodes whose data counts after recovery (snapshotted for the RPO): the stack's, by default."""
        return dict(ctx.stack.nodes)

    def heal(self, ctx: DrillContext) -> list[str]:
        """Undo what the runbook leaves for after the drill (a region brought back); return notes."""
        return []

    def inject(self, ctx: DrillContext) -> str:
        """Do the damage; return the target, e.g. "g2"."""
        raise NotImplementedError

    def recover(self, ctx: DrillContext) -> None:
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "hypothesis": self.hypothesis,
                "mechanism": self.mechanism, "expect": dict(self.expect), "backups": self.backups}


class NodeWiped(Disaster):
    def inject(self, ctx):
        ctx.wipe("g2")
        return "g2"

    def recover(self, ctx):
        ctx.restore("g2", None, repair=False)
        ctx.repair()


class BothNodesLost(Disaster):
    def inject(self, ctx):
        for n in ctx.stack.config.nodes:
            ctx.wipe(n)
        return "g1,g2"

    def recover(self, ctx):
        nodes = list(ctx.stack.config.nodes)
        chosen = {n: ctx.verified_backup(n) for n in nodes}
        for n in nodes:
            ctx.restore(n, chosen[n], repair=False)
        ctx.repair()


class CorruptNewestBackup(BothNodesLost):
    def inject(self, ctx):
        for n in ctx.stack.config.nodes:  # bit rot in the newest backup of every node
            backups = list_backups(ctx.backups_root, n)
            if backups:
                with open(backups[0].rdb, "r+b") as f:
                    f.seek(max(0, backups[0].rdb.stat().st_size // 2))
                    f.write(b"\xde\xad\xbe\xef" * 4)
        return super().inject(ctx)


class StaleRestore(Disaster):
    def inject(self, ctx):
        ctx.wipe("g1")
        return "g1"

    def recover(self, ctx):
        ctx.restore("g1", ctx.verified_backup("g1", oldest=True), repair=True)


class AofTailTorn(Disaster):
    """A power cut at the worst moment for ``appendfsync everysec``: both nodes die, and the last
    second of their AOFs, written by Redis but not yet fsynced by the kernel, never reached the disk.

    Both nodes are frozen at the same instant (SIGSTOP), then killed. A ``kill -9`` alone loses
    nothing (the written AOF sits in the page cache and survives the process), so the drill then
    simulates the lost page cache: it cuts each node's AOF back to its size one second before the
    cut. Redis loads the truncated tail (``aof-load-truncated yes``)."""

    unsynced_s = 1.0  # appendfsync everysec: at most this much written AOF is not yet on disk

    def prepare(self, ctx):
        ctx.aof = {n: AofTail(ctx.node(n)) for n in ctx.stack.config.nodes}
        for tail in ctx.aof.values():
            tail.start()
        time.sleep(self.unsynced_s + 0.3)  # enough samples to look one second back
        # The cut itself: both nodes stop at once, before the disaster's time is taken, so no write
        # can be acknowledged after it by a node that has yet to die.
        for n in ctx.stack.config.nodes:
            ctx.node(n).freeze()

    def inject(self, ctx):
        cut = {}
        try:
            for n, tail in ctx.aof.items():
                cut[n] = tail.size_before(self.unsynced_s)
                ctx.node(n).kill()
        finally:
            for tail in ctx.aof.values():
                tail.stop()
        for n, found in cut.items():
            if found is None:
                raise RuntimeError(f"no AOF sample of {n} from {self.unsynced_s:g} s before the crash")
            path, size = found
            if path != ctx.aof[n].current():
                raise RuntimeError(f"{n} rewrote its AOF during the last {self.unsynced_s:g} s; run the drill again")
            torn = path.stat().st_size - size
            with open(path, "r+b") as f:
                f.truncate(size)
            ctx.torn[n] = {"file": path.name, "bytes_torn": torn, "kept_bytes": size}
            ctx.say(f"  {n}: {torn} bytes of {path.name} torn off (the last {self.unsynced_s:g} s)")
        return ",".join(cut)

    def recover(self, ctx):
        for n in ctx.stack.config.nodes:
            with ctx.step(f"start-{n}", n) as note:
                ctx.node(n).start()
                with ctx.node(n).client() as c:
                    note[0] = f"{c.dbsize()} keys loaded from the AOF"
        ctx.repair()


class TotalLossNoBackup(BothNodesLost):
    pass  # same damage; its drill takes no backups, so recovery finds none and starts the nodes empty


CATALOGUE = {d.name: d for d in [
    NodeWiped("node-wiped", "g2 killed with kill -9 and its data folder wiped",
              "g2 restarts empty; anti-entropy repair copies every record back from g1, so no acknowledged "
              "write is lost (RPO 0), and both services serve again within seconds.",
              "the surviving replica (g1), through anti-entropy repair"),
    BothNodesLost("both-nodes-lost", "both nodes killed and wiped: recovery from backup",
                  "Both nodes are restored from their newest verified backup; the writes acknowledged after "
                  "that backup are lost, fewer than one backup interval of them.",
                  "the backup interval (the newest verified backup)"),
    CorruptNewestBackup("corrupt-newest-backup", "both nodes lost, and the newest backup of each is corrupted",
                        "Verification rejects the corrupted newest backups; the restore falls back to the "
                        "previous ones, so the loss grows by one backup interval but stays within the RPO.",
                        "the backup interval (the newest backup that verifies)"),
    StaleRestore("stale-restore", "g1 lost and restored from its oldest backup while g2 survives",
                 "g1 comes back with old data; anti-entropy repair brings it up to date from g2, so no "
                 "acknowledged write is lost (RPO 0).",
                 "the surviving replica (g2), through anti-entropy repair after the restore"),
    AofTailTorn("aof-tail-torn", "power cut on both nodes: the last second of each AOF never reached the disk",
                "Both nodes restart from their own AOF, which lacks its last second (appendfsync everysec at "
                "its worst); the writes acknowledged in that second are lost, about one second of them, far "
                "within the RPO.",
                "AOF fsync every second (appendfsync everysec)", backups=False),
    TotalLossNoBackup("total-loss-no-backup", "both nodes killed and wiped, and no backup exists",
                      "Nothing can bring the data back: the nodes restart empty, every acknowledged write "
                      "made before the disaster is lost, and the drill must say so: RPO FAIL.",
                      "nothing: no replica survived and no backup exists",
                      expect={"rpo": "fail", "rto": "pass"}, backups=False),
]}
