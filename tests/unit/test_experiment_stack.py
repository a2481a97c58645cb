"""An experiment's `stack:` section: instances behind HAProxy, the policy, and the faults that need them."""
import pytest

from chaos.experiment.files import ExperimentError, parse_experiment
from stack.target import stack_config


def exp(**fields):
    base = {"name": "e", "hypothesis": "h", "services": ["ap"], "workload": {"duration_s": 20},
            "checkers": {"read_your_writes": {}}}
    return {**base, **fields}


def problems(data) -> str:
    with pytest.raises(ExperimentError) as err:
        parse_experiment(data)
    return "\n".join(err.value.problems)


def test_the_shape_is_read_and_defaults_to_one_instance():
    assert parse_experiment(exp()).stack.instances == 1
    shape = parse_experiment(exp(stack={"instances": 3, "balance": "cookie", "local_reads": True})).stack
    assert (shape.instances, shape.balance, shape.local_reads) == (3, "cookie", True)


def test_instance_faults_need_instances_and_a_real_instance():
    kill = {"at": 2, "duration": 5, "fault": "kill_instance", "params": {"service": "ap", "instance": 3}}
    assert "kill_instance needs several instances" in problems(exp(schedule=[kill]))
    assert "4 is above stack.instances (3)" in problems(
        exp(stack={"instances": 3}, schedule=[{**kill, "params": {"service": "ap", "instance": 4}}]))
    parse_experiment(exp(stack={"instances": 3}, schedule=[kill]))


@pytest.mark.parametrize("stack, says", [({"instances": 0}, "stack.instances: 0 is out of range"),
                                         ({"balance": "random"}, "stack.balance"),
                                         ({"local_reads": "yes"}, "stack.local_reads: must be true or false"),
                                         ({"instance": 3}, "stack.instance: unknown field")])
def test_a_bad_shape_is_named_with_its_fix(stack, says):
    assert says in problems(exp(stack=stack))


def test_instance_stacks_have_folders_and_ports_of_their_own():
    two, three = stack_config(2, instances=3), stack_config(3, instances=3)
    assert str(two.run_dir) == "run/instances" and str(three.run_dir) == "run/3nodes/instances"
    assert two.instance_links and not stack_config(2).instance_links
    def used(c):
        """Every port a stack of this config listens on (its instance proxies included)."""
        proxies = {c.proxy_port(s, n) + 10 * k for s in ("cp", "ap") for n in c.nodes
                   for k in range(0, c.instances + 1 if c.instance_links else 1)}
        instances = {c.instance_port(s, k) for s in ("cp", "ap") for k in range(1, c.instances + 1)}
        return {*c.service_ports.values(), c.toxiproxy_port, c.haproxy_stats_port, c.prometheus_port,
                *(c.redis_port(n) for n in c.nodes), *proxies, *(instances if c.balanced else ())}
    stacks = [stack_config(2), stack_config(3), stack_config(2, alerts=True), stack_config(3, alerts=True), two, three]
    ports = [used(c) for c in stacks]
    assert all(not (a & b) for i, a in enumerate(ports) for b in ports[i + 1:])
