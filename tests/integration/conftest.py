"""Real processes for integration tests: redis-server nodes, toxiproxy-server, both services.

One stack per session on ports away from the defaults (stack.config.test_config), in the fast
"test" profile. Every test starts from healed proxies, empty nodes and closed breakers.
"""
from __future__ import annotations

import pytest

from stack import Stack
from stack.config import test_config
from tests.integration.live import wait_breakers_closed


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with Stack(test_config(tmp_path_factory.mktemp("stack"))).running() as s:
        yield s


@pytest.fixture(scope="session")
def toxiproxy(stack):
    with stack.client() as tp:
        yield tp


@pytest.fixture
def live(stack, toxiproxy):
    """The stack, healed and empty, with every breaker closed in every worker."""
    toxiproxy.reset()
    stack.ensure_proxies()
    wait_breakers_closed(stack)
    stack.flush()
    yield stack
    toxiproxy.reset()
