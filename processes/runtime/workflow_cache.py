"""An in-process cache of deserialized workflows, so a command on a hot case skips loading its snapshot."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class WorkflowCache:
    """Deserialized workflows by (instance id, version); taken out for a command, put back only after commit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: str, version: int) -> Any:
        """Remove and return the cached workflow if it is at this version."""
        with self._lock:
            item = self._items.pop(instance_id, None)
        return item[1] if item is not None and item[0] == version else None

    def put(self, instance_id: str, version: int, workflow: Any) -> None:
        """Cache a committed workflow."""
        if self.size <= 0:
            return
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def drop(self, instance_id: str) -> None:
        """Forget an instance (after any error)."""
        with self._lock:
            self._items.pop(instance_id, None)
