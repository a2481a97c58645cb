"""``python -m backup snapshot|adopt|verify|list|prune|copy|restore|schedule``: backups of the local stack.

Exit status: 0 done; 1 an operation failed (a backup that does not verify, a full disk, a node
that does not answer); 2 the request was refused (bad name, unknown backup, running node without
--force, bad option). Errors are one clear message on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.arguments import duration, folder, number, port
from stack.config import StackConfig
from stack.process import StackError

from .catalog import LATEST, ensure_node_name, list_backups, resolve
from .errors import BackupError, BackupInvalid, BackupNotFound, NodeRunning, UnsafeName
from .retention import Policy, prune
from .schedule import backup_round, run_schedule
from .verify import check_backup

ROOT = Path(__file__).resolve().parent.parent
REFUSED = (UnsafeName, BackupNotFound, NodeRunning, ValueError)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--run-dir", type=folder, default="run", help="the local stack's folder (default: run)")
    common.add_argument("--nodes", type=number(1, 9, integer=True), default=2, help="how many nodes the stack has: g1..gN (default 2)")
    common.add_argument("--base-port", type=port, default=StackConfig.redis_base_port,
                        help="the stack's redis base port: g1 listens on base+1 (default %(default)s)")
    common.add_argument("--root", type=folder, default=str(ROOT / "backups"), help="backup folder (default: backups/)")
    common.add_argument("--dr-root", type=folder, default=str(ROOT / "backups-dr"),
                        help="second-region folder (default: backups-dr/)")
    common.add_argument("--node", action="append", help="a node (repeatable; default: every node)")
    keep = argparse.ArgumentParser(add_help=False)
    keep.add_argument("--keep-last", type=number(0, 100_000, integer=True), default=7, help="keep the N newest backups (default 7)")
    keep.add_argument("--keep-days", type=number(0, 36_500, integer=True), default=7,
                      help="keep the newest backup of each of the last D days (default 7)")

    p = argparse.ArgumentParser(prog="python -m backup", description="caplab backups: snapshot, "
                                "verify, list, prune, copy to a second region, restore, schedule")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot", parents=[common, keep], help="BGSAVE each node and keep the RDB")
    s.add_argument("--copy", action="store_true", help="then copy to the second region (--dr-root)")
    s.add_argument("--prune", action="store_true", help="then apply the retention policy")
    a = sub.add_parser("adopt", parents=[common], help="make a backup of an RDB copied by hand (compose)")
    a.add_argument("file", help="the RDB file, e.g. copied with `docker compose cp db_g1:/data/dump.rdb`")
    v = sub.add_parser("verify", parents=[common], help="load backups into a scratch redis-server")
    v.add_argument("--backup", default=LATEST, help="a name from `list`, 'latest' (default) or 'all'")
    v.add_argument("--region", action="store_true", help="verify the second region's copies")
    ls = sub.add_parser("list", parents=[common], help="the backups of each node, newest first")
    ls.add_argument("--region", action="store_true", help="list the second region")
    ls.add_argument("--json", action="store_true")
    pr = sub.add_parser("prune", parents=[common, keep], help="delete what the retention policy does not keep")
    pr.add_argument("--dry-run", action="store_true")
    pr.add_argument("--region", action="store_true", help="prune the second region")
    sub.add_parser("copy", parents=[common], help="copy to the second region, checking every copy")
    r = sub.add_parser("restore", parents=[common], help="restore a node from a backup")
    r.add_argument("--backup", default=LATEST, help="a name from `list`, or 'latest' (default)")
    r.add_argument("--force", action="store_true", help="stop the node if it runs")
    r.add_argument("--region", action="store_true", help="restore from the second region")
    r.add_argument("--no-repair", action="store_true", help="skip the AP anti-entropy repair")
    sc = sub.add_parser("schedule", parents=[common, keep], help="snapshot+copy+prune at an interval")
    sc.add_argument("--every", type=duration(0.1, 31 * 86400), default="1h", help="interval: 30s, 5m, 1h (default 1h)")
    sc.add_argument("--count", type=number(1, 10**6, integer=True), help="stop after N rounds")
    sc.add_argument("--for", dest="for_", type=duration(0.1, 366 * 86400), help="stop after this long: 10m, 2h")
    sc.add_argument("--no-copy", action="store_true", help="do not copy to the second region")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.cmd](args)
    except REFUSED as exc:
        print(f"backup: refused: {exc}", file=sys.stderr)
        return 2
    except (BackupError, StackError) as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a folder that cannot be written, a full disk: say which, never a traceback
        print(f"backup: {exc.filename or ''}: {exc.strerror or exc}; check the folder and its permissions",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("backup: interrupted", file=sys.stderr)
        return 130


def _all_nodes(args) -> tuple:
    if not 1 <= args.nodes <= 9:
        raise ValueError("--nodes must be between 1 and 9")
    return tuple(f"g{i}" for i in range(1, args.nodes + 1))


def _config(args) -> StackConfig:
    """The running stack's config; refuse a run folder without a stack (nothing is created)."""
    if not (Path(args.run_dir) / "secrets.json").exists():
        raise ValueError(f"no local stack in {args.run_dir}/ (no secrets.json): start it with `make up`, "
                         f"or pass the stack's --run-dir")
    return StackConfig(run_dir=Path(args.run_dir), nodes=_all_nodes(args), redis_base_port=args.base_port)


def _names(args) -> list:
    names = _all_nodes(args)
    for n in args.node or []:
        if ensure_node_name(n) not in names:
            raise ValueError(f"unknown node {n!r}: the stack has {', '.join(names)} (see --nodes)")
    return args.node or list(names)


def _nodes(args) -> list:
    from stack.nodes import RedisNode
    cfg = _config(args)
    try:
        password = cfg.secrets()["REDIS_PASSWORD"]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{args.run_dir}/secrets.json has no REDIS_PASSWORD: it is not a caplab stack's; "
                         f"pass the stack's --run-dir") from None
    return [RedisNode(n, cfg.redis_port(n), Path(cfg.run_dir).resolve(), password, cfg.redis_maxmemory)
            for n in _names(args)]


def _policy(args) -> Policy:
    return Policy(args.keep_last, args.keep_days)


def cmd_snapshot(args) -> int:
    report = backup_round(_nodes(args), args.root, dr_root=args.dr_root if args.copy else None,
                          policy=_policy(args) if args.prune else None)
    for node, name in report.backups.items():
        print(f"{node}: {Path(args.root) / node / name}.rdb")
    for node, err in report.errors.items():
        print(f"backup: {node}: {err}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_adopt(args) -> int:
    from .snapshot import adopt_rdb
    if not args.node or len(args.node) != 1:
        raise ValueError("adopt needs exactly one --node: the node the file comes from")
    report = adopt_rdb(args.file, args.root, _names(args)[0])
    print(f"{args.node[0]}: {report.backup.rdb} ({report.manifest.keys} keys)")
    return 0


def cmd_verify(args) -> int:
    root = args.dr_root if args.region else args.root
    failed = 0
    for node in _names(args):
        backups = list_backups(root, node) if args.backup == "all" else [resolve(root, node, args.backup)]
        for b in backups:
            failed += not check_backup(b).ok
    return 1 if failed else 0


def cmd_list(args) -> int:
    root = args.dr_root if args.region else args.root
    rows, bad = [], []
    for node in _names(args):
        for b in list_backups(root, node):
            try:
                m = b.read_manifest()
            except BackupInvalid as exc:  # listed as unusable, and the listing goes on
                bad.append(str(exc))
                rows.append({"node": node, "name": b.name, "error": str(exc)})
                continue
            rows.append({"node": node, "name": b.name, "created_at": m.created_at, "keys": m.keys,
                         "size": m.size, "sha256": m.sha256, "redis_version": m.redis_version})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'name':<26} {'created (UTC)':<22} {'keys':>8} {'bytes':>10}  sha256")
        for r in rows:
            print(f"{r['name']:<26} INVALID: do not restore it (see below)" if "error" in r else
                  f"{r['name']:<26} {r['created_at']:<22} {r['keys']:>8} {r['size']:>10}  {r['sha256'][:16]}")
        if not rows:
            print(f"(no backups in {root})")
    for problem in bad:
        print(f"backup: {problem}", file=sys.stderr)
    return 1 if bad else 0


def cmd_prune(args) -> int:
    root = args.dr_root if args.region else args.root
    for node in _names(args):
        r = prune(root, node, _policy(args), dry_run=args.dry_run, progress=print)
        print(f"{node}: kept {len(r.kept)}, {'would delete' if r.dry_run else 'deleted'} {len(r.deleted)}")
    return 0


def cmd_copy(args) -> int:
    from .region import sync_region
    bad = 0
    for node in _names(args):
        r = sync_region(args.root, args.dr_root, node, progress=print)
        print(f"{node}: copied {len(r.copied)}, already there and sound {len(r.present)}, bad {len(r.bad)}")
        for name, why in r.bad:
            print(f"backup: {node}: {name}: {why}", file=sys.stderr)
        bad += len(r.bad)
    return 1 if bad else 0


def cmd_restore(args) -> int:
    from .restore import restore_snapshot, stack_repair
    if not args.node or len(args.node) != 1:
        raise ValueError("restore needs exactly one --node, e.g. --node g1")
    node = _nodes(args)[0]
    backup = resolve(args.dr_root if args.region else args.root, node.node, args.backup)
    cfg = _config(args)
    repair = None if args.no_repair or len(cfg.nodes) < 2 else stack_repair(cfg)
    report = restore_snapshot(node, backup, force=args.force, repair=repair)
    print(f"{node.node} restored from {report.backup}: {report.keys} keys; previous data kept in "
          f"{report.moved_aside or '(there was none)'}")
    if not report.ok:
        print(f"backup: {report.repair['error']}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_schedule(args) -> int:
    every, for_seconds = args.every, args.for_
    nodes, policy = _nodes(args), _policy(args)
    dr_root = None if args.no_copy else args.dr_root
    print(f"backing up {', '.join(n.node for n in nodes)} every {every:g}s into {args.root}"
          + (f" and {dr_root}" if dr_root else ""))
    rounds = run_schedule(lambda: backup_round(nodes, args.root, dr_root=dr_root, policy=policy),
                          every, count=args.count, for_seconds=for_seconds)
    failed = sum(not r.ok for r in rounds)
    print(f"{len(rounds)} rounds, {failed} failed")
    return 1 if failed else 0


COMMANDS = {"snapshot": cmd_snapshot, "adopt": cmd_adopt, "verify": cmd_verify, "list": cmd_list, "prune": cmd_prune,
            "copy": cmd_copy, "restore": cmd_restore, "schedule": cmd_schedule}

if __name__ == "__main__":
    sys.exit(main())
