"""Exactly once per socket: which message ids a socket has already been sent."""

from __future__ import annotations

# Ids kept exactly; older ones fold into the floor. A conversation rarely has this many
# messages, and events arrive out of order only by a few ids (two commits racing).
_KEEP = 1024


class DeliveredIds:
    """Message ids a socket has seen, so that none is sent twice.

    `floor`: every id up to it is covered (the history frame, or the `after` cursor).
    Above it a set, not a high-water mark: two commits of one request publish from
    different threads or processes, so id 11 may arrive before id 10; a high-water mark
    would drop 10.
    """

    def __init__(self, floor: int = 0) -> None:
        self.floor = floor
        self._ids: set[int] = set()

    def first_time(self, message_id: int) -> bool:
        """True (and remembered) the first time `message_id` is offered, False after."""
        if message_id <= self.floor or message_id in self._ids:
            return False
        self._ids.add(message_id)
        if len(self._ids) > _KEEP:
            ordered = sorted(self._ids)
            dropped, kept = ordered[: _KEEP // 2], ordered[_KEEP // 2 :]
            self.floor = dropped[-1]
            self._ids = set(kept)
        return True

    def cover_up_to(self, message_id: int) -> None:
        """Everything up to `message_id` was sent (in a history frame)."""
        if message_id > self.floor:
            self.floor = message_id
            self._ids = {i for i in self._ids if i > message_id}
