"""Helpers shared by the test modules (fixtures live in the conftest files)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.test import TestCase

from tests import layers
from tests.layers import Joined, Published

__all__ = ["Joined", "Published", "capture_events", "capture_joins"]


def _assert_recording_layer() -> None:
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    assert backend.startswith("tests.layers."), (
        f"the channel layer {backend} records nothing: run pytest with tests.settings"
    )


@contextmanager
def capture_events(*, using: str = DEFAULT_DB_ALIAS) -> Iterator[list[Published]]:
    """What was published to the channel layer during the block, in order, with its group.

    Services publish on commit. A test's transaction never commits, so the on-commit
    callbacks registered in the block run when it exits, as a commit would run them (those
    of a rolled-back savepoint never do); the list is complete after the block. In a
    transactional test (`transaction=True`) commits are real and publish at once.
    """
    _assert_recording_layer()
    published: list[Published] = []
    with (
        layers.recording_published(published),
        TestCase.captureOnCommitCallbacks(using=using, execute=True),
    ):
        yield published


@contextmanager
def capture_joins() -> Iterator[list[Joined]]:
    """The channel-layer groups that sockets joined during the block (once each join took
    effect), for tests that must wait until a socket hears a group before publishing to it."""
    _assert_recording_layer()
    joined: list[Joined] = []
    with layers.recording_joined(joined):
        yield joined
