"""The compose stack for real: docker-compose.yml under rootful podman (make compose-test).

These tests build images and start containers, so they run only from `make compose-test`, which
installs podman, builds the local images (scripts/images.sh) and sets CAPLAB_COMPOSE_TEST=1.
One compose project of their own (caplabtest<offset>) on host ports shifted by 10500 +
CAPLAB_TEST_PORT_OFFSET, so they run beside the local stack and the rest of the suite: the
local stack and the suite's test stacks shift the spec's ports by whole thousands (tests by
10000 + the offset), and no spec port plus 500 is another spec port modulo 1000, so none of theirs
can be one of these. The soak test shifts by 8500 + its offset: it meets these ports only when its
offset is this run's plus 2000 (and CI runs the two one after the other). The ports
stay below Linux's ephemeral range (32768 and up), where a client's connection can hold a port
just as the stack wants to bind it. Whatever happens, the project is taken down with its volumes.
"""
import os

import pytest

from stack.compose import ComposeStack, write_env_file

COMPOSE_PORT_SHIFT = 10500


def pytest_collection_modifyitems(config, items):
    if os.environ.get("CAPLAB_COMPOSE_TEST") == "1":
        return
    skip = pytest.mark.skip(reason="needs podman and the local images: run `make compose-test`")
    for item in items:
        if "tests/compose/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def compose_project(tmp_path_factory):
    """(ComposeStack, its settings file): the project up and ready; always down -v afterwards."""
    offset = int(os.environ.get("CAPLAB_TEST_PORT_OFFSET", "0"))
    folder = tmp_path_factory.mktemp("compose")
    env_file = write_env_file(folder / "compose.env", f"caplabtest{offset}", offset=COMPOSE_PORT_SHIFT + offset)
    stack = ComposeStack(env_file)  # run/compose-<project>, where `python -m chaos --target compose` looks
    stack.down(progress=lambda _m: None)  # a killed earlier run of the same project
    try:
        stack.up(progress=lambda _m: None)
        yield stack, env_file
    finally:
        stack.down(progress=lambda _m: None)
