"""The one door to litellm: imported lazily (it takes seconds), configured for offline use."""

from __future__ import annotations

import os
from functools import cache


@cache
def litellm_module():
    # Without these, importing litellm fetches a cost map over the network, and its async
    # calls go through aiohttp, which the tests' HTTP mocking (respx) does not see.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm
