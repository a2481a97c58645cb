"""caplab under load: one user class per service, a mix of reads and writes over hot and cold keys.

Each user is one client process: it reads or writes one key at a time, through both endpoint styles
(POST /write/<k>/<v> and PUT /kv/<k>; GET /read/<k> and GET /kv/<k>). Every write carries a value
unique to the run, so a history of the run can be checked. Run it with `make load` or
`python -m loadtests.run`; docs/load.md has the rest.
"""
from __future__ import annotations

import os
import random
import sys

# Locust imports this file by path; make the repository importable (harness, loadtests).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from locust import FastHttpUser, LoadTestShape, task  # noqa: E402  (first: it monkey-patches with gevent)
from locust.exception import StopUser  # noqa: E402
from locust.runners import STATE_CLEANUP, STATE_STOPPED, STATE_STOPPING  # noqa: E402

from loadtests import listeners  # noqa: E402,F401  (registers the options and event listeners)
from loadtests.answers import answer_of  # noqa: E402
from loadtests.history import Pending  # noqa: E402
from loadtests.options import wait_range  # noqa: E402
from loadtests.shapes import schedule_from_options  # noqa: E402
from stack.balancer import INSTANCE_HEADER  # noqa: E402
from stack.config import SESSION_HEADER  # noqa: E402


class SelectedShape(LoadTestShape):
    """The shape named by --shape (steady, step, spike or soak), sized by -u, -r and -t."""

    use_common_options = True
    schedule = None

    def tick(self):
        if self.schedule is None:
            self.schedule = schedule_from_options(self.runner.environment.parsed_options)
        return self.schedule.tick(self.get_run_time())


class ServiceUser(FastHttpUser):
    """One client of one service; subclasses name the service."""

    abstract = True
    service = ""

    def __init__(self, environment):
        self.options = o = environment.parsed_options
        self.host = getattr(o, f"{self.service}_url")
        self.network_timeout = self.connection_timeout = o.timeout_s
        super().__init__(environment)
        self.process = self.history.new_process()
        self.n = 0
        # One session per user, across its process ids: sent as a header (HAProxy's header affinity
        # hashes it) and recorded, so the session checkers can judge what each user saw.
        self.session_id = f"{o.run_id}:{self.service}:u{self.process}"
        self.wait_lo, self.wait_hi = wait_range(o)
        prefix = f"{o.run_id}:{self.service}"
        self.hot = [f"{prefix}:hot{i}" for i in range(o.hot_keys)]
        self.cold = [f"{prefix}:cold{i}" for i in range(o.cold_keys)] or self.hot

    @property
    def history(self):
        return listeners.state.history  # replaced at each test start

    def wait_time(self):
        return random.uniform(self.wait_lo, self.wait_hi)

    def key(self) -> str:
        return random.choice(self.hot if random.random() < self.options.hot_ratio else self.cold)

    def writes_allowed(self) -> bool:
        until = self.options.writes_until_s
        return not until or self.history.now()[0] < until  # the history's own (monotonic) clock

    @task(35)
    def read_path(self):
        self.read(f"/read/{self.key()}", "GET /read/[key]")

    @task(35)
    def read_kv(self):
        self.read(f"/kv/{self.key()}", "GET /kv/[key]")

    @task(15)
    def write_path(self):
        if not self.writes_allowed():
            return self.read_path()
        key, value = self.key(), self.next_value()
        self.call("POST", f"/write/{key}/{value}", "POST /write/[key]/[value]", "write", key, value)

    @task(15)
    def write_kv(self):
        if not self.writes_allowed():
            return self.read_kv()
        key, value = self.key(), self.next_value()
        self.call("PUT", f"/kv/{key}", "PUT /kv/[key]", "write", key, value, json={"value": value})

    def next_value(self) -> str:
        self.n += 1
        return f"{self.service}-{self.process}-{self.n}"

    def read(self, path: str, name: str):
        self.call("GET", path, name, "read", path.rsplit("/", 1)[1], None)

    def call(self, method, path, name, f, key, value, **kw):
        """One operation: invoke, request, and let the answer decide success, refusal or error."""
        runner = self.environment.runner
        if runner is not None and runner.state in (STATE_CLEANUP, STATE_STOPPING, STATE_STOPPED):
            # The test is stopping: Locust lets a request already in flight finish, but a user that
            # was asleep when the stop came is killed at its next switch, in the middle of whatever
            # it started. An operation begun now would end as info, cut off by the load generator
            # rather than by the system, so none is begun.
            raise StopUser()
        pending = self.history.invoke(self.process, self.service, f, key, value, session=self.session_id)
        with self.client.request(method, path, name=f"{self.service} {name}", catch_response=True,
                                 context={"caplab": pending}, headers={SESSION_HEADER: self.session_id},
                                 **kw) as resp:
            pending.instance = (resp.headers or {}).get(INSTANCE_HEADER)
            pending.answer = answer = answer_of(resp, getattr(resp, "error", None))
            if answer.kind == "ok":
                resp.success()
            else:
                resp.failure(answer.describe())  # a refusal is recorded as such, not as a crash
        if answer.completion == "info":
            self.process = self.history.new_process()  # the old one may still have a write in flight


class CPUser(ServiceUser):
    """A client of the CP service (linearizable; refuses with 503 without a quorum)."""

    service = "cp"


class APUser(ServiceUser):
    """A client of the AP service (always answers while any node is reachable)."""

    service = "ap"
