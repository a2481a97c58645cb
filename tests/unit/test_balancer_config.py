"""HAProxy's config for a stack of several instances, and the stack's shape settings."""
import pytest

from stack import Stack
from stack.balancer import render
from stack.config import StackConfig, test_config


def test_three_instances_each_on_its_own_port_behind_the_service_port(tmp_path):
    cfg = StackConfig(run_dir=tmp_path, instances=3)
    text = render(cfg, tmp_path)
    assert "bind 127.0.0.1:5001" in text and "bind 127.0.0.1:5002" in text
    assert "server cp3 127.0.0.1:5113" in text and "server ap1 127.0.0.1:5121" in text
    assert text.count("option httpchk GET /ready") == 2 and "fall 2 rise 2" in text
    assert "timeout http-request 5s" in text and "option http-buffer-request" in text
    assert "prometheus-exporter" in text and "bind 127.0.0.1:5190" in text
    assert "'{\"error\": {\"code\": \"unavailable\"" in text and '"outcome": "not_applied"' in text
    ports = {cfg.instance_port(s, k) for s in ("cp", "ap") for k in range(1, 10)}
    assert len(ports) == 18 and not ports & {5001, 5002, cfg.haproxy_stats_port}


@pytest.mark.parametrize("policy, line", [("roundrobin", "balance roundrobin"),
                                          ("cookie", "cookie CAPLAB_INSTANCE insert indirect nocache"),
                                          ("header", "balance hdr(X-Caplab-Session)")])
def test_each_policy_has_its_haproxy_lines(tmp_path, policy, line):
    text = render(StackConfig(run_dir=tmp_path, instances=2, balance=policy), tmp_path)
    assert line in text
    assert ("cookie ap2" in text) == (policy == "cookie")


def test_one_instance_is_the_stack_of_today(tmp_path):
    stack = Stack(test_config(tmp_path))
    assert stack.balancer is None
    assert [p.name for p in stack.app_processes()] == ["app-cp", "app-ap"]
    assert stack.services["cp"].port == stack.config.service_ports["cp"]


def test_several_instances_and_their_own_links(tmp_path):
    cfg = test_config(tmp_path, instances=3, instance_links=True)
    stack = Stack(cfg)
    assert [p.name for p in stack.instances["ap"]] == ["app-ap-1", "app-ap-2", "app-ap-3"]
    assert stack.balancer is not None and stack.balancer.port == cfg.haproxy_stats_port
    env = cfg.service_env("ap", 2)
    assert env["PORT"] == str(cfg.instance_port("ap", 2))
    assert f"g1=127.0.0.1:{cfg.proxy_port('ap', 'g1') + 20}" in env["REDIS_NODES"]
    assert cfg.with_(instance_links=False).service_env("ap", 2)["REDIS_NODES"] == cfg.service_env("ap")["REDIS_NODES"]


@pytest.mark.parametrize("change, word", [({"instances": 0}, "instances"), ({"instances": 10}, "instances"),
                                          ({"balance": "random"}, "balance")])
def test_a_shape_that_cannot_run_is_refused_with_the_setting_named(tmp_path, change, word):
    from stack.process import StackError
    with pytest.raises(StackError, match=word):
        Stack(test_config(tmp_path, **change))
