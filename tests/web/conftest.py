"""A real ``beacon serve`` on loopback for the browser tests of the pages."""

from __future__ import annotations

import pytest

from tests.web.serve import beacon_server


@pytest.fixture
def server(runtime):
    with beacon_server() as base:
        yield base
