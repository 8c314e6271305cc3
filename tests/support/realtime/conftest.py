"""Fixtures of the socket tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """A new layer object per test (each test has its own event loop), emptied after."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    layer = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    if layer is not None and hasattr(layer, "flush"):
        async_to_sync(layer.flush)()
