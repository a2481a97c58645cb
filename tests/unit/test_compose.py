"""docker-compose.yml and its files agree with the local stack (stack/config.py, stack/nodes.py).

Pure and fast: parses the YAML, JSON, Dockerfile and .env.example, and imports stack.config,
stack.nodes and app.config. No Docker engine is needed. `${VAR:-default}` in the compose file
resolves to its default, which is what compose uses when .env leaves VAR unset.
"""
import json
import re
from pathlib import Path

import pytest
import yaml

from app.config import VARIABLES
from stack.config import PROFILES, SERVICES, StackConfig
from stack.nodes import REDIS_CONF

ROOT = Path(__file__).resolve().parents[2]
STACK = StackConfig()
REDIS_PORT_IN_CONTAINER = 6379
GUNICORN_VARIABLES = ("PORT", "BIND", "WEB_WORKERS", "WEB_TIMEOUT_SEC", "WEB_GRACEFUL_TIMEOUT_SEC")
SECRETS = ("SECRET_KEY", "REDIS_PASSWORD")
# Set per service by docker-compose.yml itself, so .env.example only shows them commented out.
PER_SERVICE = ("APP_MODE", "REDIS_NODES", "PORT", "BIND")
# Redis settings that differ on purpose: the container listens on its own network on 6379, keeps
# data in the /data volume, and takes the password from the command line.
REDIS_LOCAL_ONLY = {"bind", "port", "dir", "requirepass"}

INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?-)([^}]*)|:?\?[^}]*)?\}")


def resolve(value):
    """Resolve `${VAR:-default}` to default; `${VAR}` and `${VAR:?msg}` to `<VAR>` (no default)."""
    return INTERPOLATION.sub(lambda m: m.group(3) if m.group(2) else f"<{m.group(1)}>", str(value))


def db(node):
    return f"db_{node}"


def app(service):
    return f"app_{service}"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


class ComposeLoader(yaml.SafeLoader):
    """YAML with compose's merge tags: `!reset` drops the base file's value (here: an empty one)."""


ComposeLoader.add_constructor("!reset", lambda loader, node: [] if isinstance(node, yaml.SequenceNode) else None)


@pytest.fixture(scope="module")
def scale():
    return yaml.load((ROOT / "docker-compose.scale.yml").read_text(), Loader=ComposeLoader)


@pytest.fixture(scope="module")
def all_services(services, scale):
    """docker-compose.yml's services and the scale file's new ones (haproxy)."""
    return {**services, **{k: v for k, v in scale["services"].items() if k not in services}}


@pytest.fixture(scope="module")
def proxies():
    return {p["name"]: p for p in json.loads((ROOT / "docker" / "toxiproxy.json").read_text())}


def environment(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: resolve(v) for k, v in env.items()}


def published(svc):
    """{container port: (host ip or '', host port)} from short-syntax port mappings."""
    out = {}
    for spec in svc.get("ports", []):
        parts = resolve(spec).split(":")
        container, host = int(parts[-1]), int(parts[-2])
        out[container] = (parts[-3] if len(parts) == 3 else "", host)
    return out


def mounts(svc):
    """{container path: source} from short-syntax volumes."""
    return {v.split(":")[1]: v.split(":")[0] for v in svc.get("volumes", [])}


def redis_settings(text):
    """{directive: value} of a redis.conf text; later lines win, as in Redis."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out[key.lower()] = value.strip()
    return out


def stack_redis_settings():
    return redis_settings(REDIS_CONF.format(port=STACK.redis_port(STACK.nodes[0]), password="x",
                                            data_dir="/data", maxmemory=STACK.redis_maxmemory))


def compose_redis_settings(svc, compose_root=ROOT):
    """The settings a db service runs with: its mounted redis.conf, then `--key value` overrides."""
    command = [resolve(c) for c in svc["command"]]
    assert command[0] == "redis-server", "db services run redis-server with a config file"
    source = mounts(svc)[command[1]]
    settings = redis_settings((compose_root / source).read_text())
    overrides = command[2:]
    assert len(overrides) % 2 == 0 and all(k.startswith("--") for k in overrides[::2]), overrides
    settings.update({k[2:].lower(): v for k, v in zip(overrides[::2], overrides[1::2])})
    return settings


# --- services, ports, proxies --------------------------------------------------------------------

MONITORING = ("prometheus", "alertmanager", "webhook")


def test_service_set_matches_the_stack(services):
    expected = {db(n) for n in STACK.nodes} | {app(s) for s in SERVICES} | {"toxiproxy"}
    assert {name for name, svc in services.items() if not svc.get("profiles")} == expected
    # `make up ALERTS=1` has the same three; compose starts them with --profile monitoring only
    assert {name for name, svc in services.items() if svc.get("profiles")} == {*MONITORING, "grafana"}
    assert all(services[name]["profiles"] == ["monitoring"] for name in MONITORING)
    assert services["grafana"]["profiles"] == ["grafana"]  # no podman stand-in: never with monitoring alone


def test_each_service_runs_its_mode_on_the_stack_port(services):
    for s in SERVICES:
        svc, port = services[app(s)], STACK.service_ports[s]
        env = environment(svc)
        assert env["APP_MODE"] == s
        assert env["PORT"] == str(port)
        assert env["BIND"] == f"0.0.0.0:{port}", "gunicorn must listen on every container interface"
        assert published(svc)[port] == ("127.0.0.1", port), f"{app(s)} must publish {port} on 127.0.0.1 by default"


def test_each_service_reaches_the_nodes_only_through_its_own_proxies(services):
    for s in SERVICES:
        nodes = environment(services[app(s)])["REDIS_NODES"].split(",")
        assert nodes == [f"{n}=toxiproxy:{STACK.proxy_port(s, n)}" for n in STACK.nodes]


def test_proxies_match_the_stack(proxies):
    expected = {STACK.proxy_name(s, n): (s, n) for s in SERVICES for n in STACK.nodes}
    assert set(proxies) == set(expected)
    for name, (s, n) in expected.items():
        p = proxies[name]
        assert p["listen"] == f"0.0.0.0:{STACK.proxy_port(s, n)}"
        assert p["upstream"] == f"{db(n)}:{REDIS_PORT_IN_CONTAINER}"
        assert p.get("enabled", True) is True


def test_toxiproxy_loads_the_proxies_and_publishes_the_stack_ports(services):
    svc = services["toxiproxy"]
    assert resolve(svc["image"]) == "ghcr.io/shopify/toxiproxy:2.12.0"
    command = svc["command"]
    # A command replaces the image's `-host=0.0.0.0`; without it the API is unreachable.
    assert "-host=0.0.0.0" in command
    config_path = command[command.index("-config") + 1]
    assert mounts(svc)[config_path] == "./docker/toxiproxy.json"
    ports = published(svc)
    assert ports[STACK.toxiproxy_port] == ("127.0.0.1", STACK.toxiproxy_port)
    for s in SERVICES:
        for n in STACK.nodes:
            port = STACK.proxy_port(s, n)
            assert ports[port] == ("127.0.0.1", port)


# --- service settings ----------------------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_service_settings_match_the_local_profile(services, service):
    env = environment(services[app(service)])
    profile = PROFILES["local"]
    assert {k: env.get(k) for k in profile} == profile
    assert env["WEB_WORKERS"] == str(STACK.workers)
    assert env["REDIS_PASSWORD"] == "<REDIS_PASSWORD>", "the password must come from .env, not the file"
    assert set(env) <= set(VARIABLES) | set(GUNICORN_VARIABLES), "unknown variable in compose"


def test_services_share_one_image_and_the_container_checklist(services):
    builds = []
    for s in SERVICES:
        svc = services[app(s)]
        builds.append((svc["build"]["context"], svc["build"].get("dockerfile", "Dockerfile")))
        env_files = svc["env_file"] if isinstance(svc["env_file"], list) else [svc["env_file"]]
        assert ".env" in [resolve(f) for f in env_files]
        assert "/health" in " ".join(svc["healthcheck"]["test"])
        assert svc["restart"] in ("always", "unless-stopped", "on-failure")
        limits = svc["deploy"]["resources"]["limits"]
        assert (str(limits["cpus"]), limits["memory"]) == ("1.0", "1G")  # the deployment guide's
        deps = svc["depends_on"]
        assert set(deps) == {db(n) for n in STACK.nodes} | {"toxiproxy"}
        assert all(d["condition"] == "service_healthy" for d in deps.values())
    assert builds == [(".", "Dockerfile")] * len(SERVICES)


def test_every_service_is_on_cap_network_with_health_check_and_limits(compose, services):
    assert "cap_network" in compose["networks"]
    for name, svc in services.items():
        assert svc["networks"] == ["cap_network"], name
        assert svc["healthcheck"]["test"], name
        assert set(svc["deploy"]["resources"]["limits"]) >= {"cpus", "memory"}, name
        assert svc.get("restart"), name


# --- monitoring: Prometheus, Alertmanager, the webhook ------------------------------------------

def test_monitoring_configs_are_the_rendered_ones_and_mounted_where_the_commands_look():
    from alerts import compose as monitoring
    assert monitoring.drift() == [], "run `python -m alerts render` and commit docker/*.yml"
    prom = yaml.safe_load((ROOT / "docker" / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in prom["scrape_configs"]}
    assert targets == {"caplab_cp": [f"{app('cp')}:{STACK.service_ports['cp']}"],
                       "caplab_ap": [f"{app('ap')}:{STACK.service_ports['ap']}"],
                       "toxiproxy": [f"toxiproxy:{STACK.toxiproxy_port}"]}
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    am = yaml.safe_load((ROOT / "docker" / "alertmanager.yml").read_text())
    assert am["receivers"][0]["webhook_configs"][0] == {"url": "http://webhook:9095/", "send_resolved": True}


def test_monitoring_services_are_pinned_local_only_and_wired(services):
    assert resolve(services["prometheus"]["image"]) == "prom/prometheus:v2.42.0"  # Debian 12's, as in make up
    assert resolve(services["alertmanager"]["image"]) == "prom/alertmanager:v0.25.0"
    assert services["webhook"]["image"] == "caplab-app:latest"
    for name, port in (("prometheus", 9090), ("alertmanager", 9093), ("webhook", 9095)):
        assert published(services[name])[port] == ("127.0.0.1", port), f"{name} must publish on 127.0.0.1 only"
    prom = services["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]
    assert mounts(prom)["/etc/prometheus/prometheus.yml"] == "./docker/prometheus.yml"
    assert mounts(prom)["/etc/prometheus/rules"] == "./alerts/rules"
    am = services["alertmanager"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in am["command"]
    assert mounts(am)["/etc/alertmanager/alertmanager.yml"] == "./docker/alertmanager.yml"
    hook = services["webhook"]["command"]
    assert hook[:3] == ["python", "-m", "alerts.webhook"] and hook[hook.index("--port") + 1] == "9095"
    assert hook[hook.index("--host") + 1] == "0.0.0.0", "inside its container it must listen on every interface"
    # Prometheus scrapes Toxiproxy, which 2.12 serves only with these flags
    assert {"-proxy-metrics", "-runtime-metrics"} <= set(services["toxiproxy"]["command"])


# --- host ports, images and names under podman (docs/compose.md, "Podman") ----------------------

def test_every_host_port_is_a_variable_with_the_spec_default_on_127_0_0_1(all_services):
    from stack.compose import HOST_PORTS
    seen = {}
    for name, svc in all_services.items():
        for spec in svc.get("ports", []):
            m = re.fullmatch(r"(\$\{PUBLISH_HOST:-127\.0\.0\.1\}|127\.0\.0\.1):\$\{(\w+):-(\d+)\}:(\d+)", spec)
            assert m, f"{name}: {spec!r} must be [127.0.0.1 or PUBLISH_HOST]:${{VAR:-default}}:port"
            service_port = name.startswith("app_") or (name == "haproxy" and m.group(2) in ("CP_PORT", "AP_PORT"))
            assert m.group(1).startswith("$") == service_port, "only the services' ports may open up"
            seen[m.group(2)] = int(m.group(3))
    assert seen == HOST_PORTS, "stack/compose.py HOST_PORTS must list the compose file's port variables"


def test_images_are_upstream_by_default_and_the_local_stand_ins_carry_the_same_tags(all_services):
    from stack.compose import IMAGES_ENV, read_env_file
    local = read_env_file(IMAGES_ENV)
    used = {}
    for svc in all_services.values():
        for value in (svc.get("image", ""), str(svc.get("build", {}).get("args", {}).get("BASE_IMAGE", ""))):
            m = re.fullmatch(r"\$\{(\w+):-([^}]+)\}", value)
            if m:
                used[m.group(1)] = m.group(2)
    assert set(used) == set(local), "docker/podman/images.env must name a stand-in for every image variable"
    for var, upstream in used.items():
        assert local[var].startswith("localhost/caplab/"), f"{var}: stand-ins live under localhost/caplab/"
        assert local[var].rsplit(":", 1)[1] == upstream.rsplit(":", 1)[1], f"{var}: the tag must match {upstream}"


def test_fixed_container_names_take_the_prefix_and_podman_is_pinned(all_services):
    for name, svc in all_services.items():
        if "container_name" in svc:
            assert svc["container_name"] == "${CONTAINER_PREFIX:-}" + name
            assert resolve(svc["container_name"]) == name, "the deployment guide's names by default"
    pins = (ROOT / "docker" / "podman" / "requirements.txt").read_text()
    assert "podman-compose==1.6.0" in pins
    conf = (ROOT / "docker" / "podman" / "containers.conf").read_text()
    assert 'runtime = "runc"' in conf and "nofile=20000:20000" in conf


# --- several instances behind HAProxy (docker-compose.scale.yml, docs/compose.md) ---------------

def test_scale_file_puts_haproxy_on_the_service_ports_and_the_replicas_publish_nothing(scale):
    svc = scale["services"]
    for s in SERVICES:
        assert svc[app(s)]["ports"] == [], f"{app(s)}: replicas cannot share a host port (`!reset []`)"
        assert resolve(svc[app(s)]["scale"]) == "3"
    lb = svc["haproxy"]
    assert resolve(lb["image"]) == "haproxy:2.6" and lb["networks"] == ["cap_network"]
    assert {c: p for c, p in published(lb).items()} == {
        **{STACK.service_ports[s]: ("127.0.0.1", STACK.service_ports[s]) for s in SERVICES},
        STACK.haproxy_stats_port: ("127.0.0.1", STACK.haproxy_stats_port)}
    assert mounts(lb)["/usr/local/etc/haproxy/haproxy.cfg"] == "./docker/haproxy.cfg"
    assert "profiles" not in lb, "the scale file is the switch: HAProxy starts whenever it is named"


def test_compose_haproxy_is_the_local_balancer_with_replicas_found_by_name():
    """docker/haproxy.cfg keeps the local balancer's defaults, error answers and checks
    (stack/balancer.py), and fills one server slot per replica from the network's DNS."""
    from stack.balancer import render
    from stack.config import MAX_INSTANCES
    cfg = (ROOT / "docker" / "haproxy.cfg").read_text()
    lines = {ln.strip() for ln in cfg.splitlines()}
    local = render(StackConfig(instances=3), Path("/run"))
    defaults = local.split("\ndefaults\n", 1)[1].split("\n\n", 1)[0].splitlines()
    for line in defaults:
        if line.strip().startswith("default-server"):
            assert line.strip() + " resolvers compose resolve-prefer ipv4 init-addr none" in lines
        else:
            assert line.strip() in lines, f"docker/haproxy.cfg lacks the local balancer's `{line.strip()}`"
    for s in SERVICES:
        port = STACK.service_ports[s]
        assert f"bind :{port}" in lines
        assert f"server-template {s} 1-{MAX_INSTANCES} {app(s)}:{port}" in lines
    for line in ("option httpchk GET /ready", "http-check expect status 200",
                 "http-response set-header X-Caplab-Instance %s", "parse-resolv-conf",
                 f"bind :{STACK.haproxy_stats_port}"):
        assert line in lines


# --- Redis ---------------------------------------------------------------------------------------

def test_redis_settings_match_the_stack(services):
    stack = stack_redis_settings()
    for key in ("appendonly", "appendfsync", "maxmemory-policy", "maxmemory"):
        assert key in stack, f"stack/nodes.py REDIS_CONF no longer sets {key}"
    for n in STACK.nodes:
        mine = compose_redis_settings(services[db(n)])
        assert {k: mine.get(k) for k in stack if k not in REDIS_LOCAL_ONLY} == \
               {k: v for k, v in stack.items() if k not in REDIS_LOCAL_ONLY}
        assert mine["requirepass"] == "<REDIS_PASSWORD>"
        assert mine["port"] == str(REDIS_PORT_IN_CONTAINER)


def test_redis_nodes_keep_data_in_named_volumes_and_answer_ping(compose, services):
    for n in STACK.nodes:
        svc = services[db(n)]
        assert resolve(svc["image"]) == "redis:7.0"
        volume = mounts(svc)["/data"]
        assert volume in compose["volumes"], "/data must be a named volume"
        assert "redis-cli ping" in " ".join(svc["healthcheck"]["test"])
        assert published(svc)[REDIS_PORT_IN_CONTAINER] == ("127.0.0.1", STACK.redis_port(n))


def test_resolve_reads_defaults_and_marks_required_values():
    assert resolve("${A:-0.5}") == "0.5"
    assert resolve("${A-100 per minute}") == "100 per minute"
    assert resolve("${A:?set it}") == "<A>"
    assert resolve("x=${A}") == "x=<A>"


# --- .env.example --------------------------------------------------------------------------------

def env_example():
    """{variable: (value, active, comment above it)} for every `VAR=` or `# VAR=` line."""
    out, comment = {}, []
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if m:
            out[m.group(2)] = (m.group(3), not m.group(1), " ".join(comment))
            comment = []
        elif line.startswith("#"):
            comment.append(line.lstrip("# "))
        else:
            comment = []
    return out


def test_env_example_documents_every_variable():
    documented = env_example()
    wanted = (set(VARIABLES) | set(GUNICORN_VARIABLES) | {"PROMETHEUS_MULTIPROC_DIR"}
              | {f"{s}_FILE" for s in SECRETS})
    assert wanted - set(documented) == set()
    for var in wanted:
        comment = documented[var][2]
        assert len(comment) > 20, f"{var} needs a comment saying what it means"
        assert "Accepted" in comment and "Default" in comment, f"{var}: say accepted values and default"


def test_env_example_values_are_the_local_profile_or_the_defaults():
    documented = env_example()
    for var, (_, default) in VARIABLES.items():
        if var in SECRETS or var in PER_SERVICE:
            continue
        value, active, _ = documented[var]
        expected = PROFILES["local"].get(var, default)
        if var == "AP_READ_NODE":
            expected = STACK.nodes[0]  # the default "" means the first node
        assert value == expected, f".env.example {var}={value!r}, expected {expected!r}"
        assert active or var not in PROFILES["local"], f"{var} is in the local profile: set it"


def test_env_example_holds_no_secrets():
    documented = env_example()
    for var in SECRETS:
        assert documented[var][0] == "", f"{var} must be an empty placeholder in .env.example"


# --- Dockerfile, .dockerignore -------------------------------------------------------------------

def dockerfile():
    """[(INSTRUCTION, arguments)] with continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def test_dockerfile_is_slim_and_runs_as_a_non_root_user():
    steps = dockerfile()
    assert steps[:2] == [("ARG", "BASE_IMAGE=python:3.11-slim"), ("FROM", "${BASE_IMAGE}")], \
        "the upstream base unless BASE_IMAGE names another (the podman stand-in)"
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert "pip install --no-cache-dir -r requirements.lock" in runs
    copied = [args.split()[0] for op, args in steps if op == "COPY"]
    assert set(copied) <= {"requirements.lock", "app/", "harness/", "alerts/"}, \
        "copy app/, harness/ (the ground floor alerts/ uses), alerts/ and the lock file only"


def test_dockerfile_checks_health_and_serves_through_the_config_check():
    steps = {}
    for op, args in dockerfile():
        steps[op] = steps.get(op, "") + " " + args
    assert "/health" in steps["HEALTHCHECK"]
    assert "python -m app serve" in steps["CMD"]
    assert "0.0.0.0:${PORT}" in steps["CMD"], "BIND must default to 0.0.0.0:$PORT in the container"
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/" in steps["ENV"]


def test_dockerignore_keeps_the_context_small():
    ignored = {ln.strip().rstrip("/") for ln in (ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}
    wanted = {".venv", ".tools", "runs", "run", ".git", "tests", "docs", "backups", "**/__pycache__"}
    assert wanted - ignored == set()
    assert ".env" in ignored, "secrets must not reach the build context"


def test_everything_the_dockerfile_copies_reaches_the_build_context():
    ignored = {ln.strip().rstrip("/") for ln in (ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}
    for op, args in dockerfile():
        if op == "COPY":
            source = args.split()[0].rstrip("/")
            assert source not in ignored, f".dockerignore drops {source}/, which the Dockerfile copies"


# --- docs ----------------------------------------------------------------------------------------

def test_configuration_doc_covers_every_setting():
    text = (ROOT / "docs" / "configuration.md").read_text()
    for var in (set(VARIABLES) | set(GUNICORN_VARIABLES) | {"PROMETHEUS_MULTIPROC_DIR"}
                | {f"{s}_FILE" for s in SECRETS}):
        assert f"`{var}`" in text, f"docs/configuration.md does not describe {var}"
