"""The compose stack's description (stack/compose.py) and the chaos compose target, without podman."""
import stat
from types import SimpleNamespace

import pytest

from stack.target import RunnerError, compose_stack
from stack.compose import HOST_PORTS, IMAGES_ENV, ComposeStack, read_env_file, write_env_file
from stack.process import StackError


def test_a_written_settings_file_describes_a_project_of_its_own(tmp_path):
    path = write_env_file(tmp_path / "c.env", "caplabtest7", offset=10500)
    settings = read_env_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "it holds the secrets"
    assert settings["COMPOSE_PROJECT_NAME"] == "caplabtest7" and settings["CONTAINER_PREFIX"] == "caplabtest7_"
    assert len(settings["SECRET_KEY"]) == 64 and len(settings["REDIS_PASSWORD"]) == 32
    assert settings["CAPLAB_ENV_FILE"] == str(path), "the services must read this file, not .env"
    assert {v: int(settings[v]) for v in HOST_PORTS} == {v: p + 10500 for v, p in HOST_PORTS.items()}
    assert read_env_file(IMAGES_ENV).items() <= settings.items()
    assert write_env_file(tmp_path / "d.env", "x")  # fresh secrets each time
    assert read_env_file(tmp_path / "d.env")["REDIS_PASSWORD"] != settings["REDIS_PASSWORD"]


def test_the_stack_config_points_at_the_published_ports(tmp_path):
    stack = ComposeStack(write_env_file(tmp_path / "c.env", "p", offset=1000), run_dir=tmp_path / "run")
    cfg = stack.config
    assert cfg.service_url("cp") == "http://127.0.0.1:6001" and cfg.service_url("ap") == "http://127.0.0.1:6002"
    assert cfg.toxiproxy_url == "http://127.0.0.1:9474"
    assert [cfg.redis_port(n) for n in cfg.nodes] == [7381, 7382]
    assert cfg.proxy_port("ap", "g2") == 8202
    assert {n: node.port for n, node in stack.nodes.items()} == {"g1": 7381, "g2": 7382}


def test_defaults_are_the_spec_ports_and_the_project_caplab(tmp_path):
    (tmp_path / ".env").write_text("SECRET_KEY=x\nREDIS_PASSWORD='pw'\n# CP_PORT=1\n")
    stack = ComposeStack(tmp_path / ".env", run_dir=tmp_path / "run")
    assert stack.project == "caplab" and stack.ports == HOST_PORTS
    assert stack.settings["REDIS_PASSWORD"] == "pw"


def test_a_missing_or_incomplete_settings_file_says_what_to_do(tmp_path):
    with pytest.raises(StackError, match="copy .env.example to .env"):
        ComposeStack(tmp_path / "absent.env")
    (tmp_path / "c.env").write_text("SECRET_KEY=x\n")
    with pytest.raises(StackError, match="sets no REDIS_PASSWORD"):
        ComposeStack(tmp_path / "c.env")


@pytest.mark.parametrize("changes, needs", [({"nodes": 3}, "3 nodes"), ({"alerts": ["X"]}, "alerts"),
                                            ({"service_settings": {"WEB_WORKERS": 1}}, "service settings"),
                                            ({"stack": SimpleNamespace(instances=3)}, "several instances")])
def test_the_compose_target_refuses_what_it_cannot_run(tmp_path, changes, needs):
    exp = SimpleNamespace(**{"name": "e", "nodes": 2, "alerts": [], "service_settings": {}, **changes})
    with pytest.raises(RunnerError, match=f"needs {needs}.*local stack"):
        compose_stack(exp, tmp_path / "c.env")
