"""A small rosbag2 writer over `rosbags.rosbag2.Writer`: MCAP or sqlite3, connections on demand.

    with BagWriter('out/bag', storage='mcap') as bag:
        bag.write('/camera/color/image_raw', image_msg(rgb, t_ns, 'camera'), t_ns)

Metadata version 8 by default: it is what Jazzy writes, carries the RIHS01 type hashes, and
(unlike version 9) keeps `offered_qos_profiles` as a string, which older `ros2 bag` releases
(Humble) can still parse. Pass version=9 for the Kilted layout.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rosbags.rosbag2 import StoragePlugin, Writer

from .messages import TYPESTORE, serialize

STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}


class BagWriterError(RuntimeError):
    pass


class BagWriter:
    """Write message objects to a new rosbag2 folder; one connection per topic, added lazily."""

    def __init__(self, path: str | Path, storage: str = 'mcap', version: int = 8,
                 typestore: Any = TYPESTORE):
        if storage not in STORAGES:
            raise ValueError(f'unknown bag storage {storage!r}; choose one of {sorted(STORAGES)}')
        self.path = Path(path)
        self.storage = storage
        self.typestore = typestore
        self._version = version
        self._writer: Writer | None = None
        self._connections: dict[str, Any] = {}
        self.message_counts: dict[str, int] = {}

    def open(self) -> 'BagWriter':
        # rosbags would also refuse, but with a less helpful message and only at mkdir time.
        if self.path.exists():
            raise FileExistsError(f'bag output {self.path} already exists; refusing to overwrite '
                                  f'(remove it or choose another --output)')
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = Writer(self.path, version=self._version, storage_plugin=STORAGES[self.storage])
        self._writer.open()
        return self

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> 'BagWriter':
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def write(self, topic: str, msg: Any, t_ns: int) -> None:
        """Serialize `msg` (a rosbags message object) and record it at receive time `t_ns`."""
        self.write_raw(topic, msg.__msgtype__, serialize(msg), t_ns)

    def write_raw(self, topic: str, msgtype: str, raw_cdr: bytes, t_ns: int) -> None:
        """Record already serialized CDR bytes (e.g. straight from DDS, nothing re-encoded)."""
        if self._writer is None:
            raise BagWriterError('BagWriter is not open (use it as a context manager)')
        conn = self._connections.get(topic)
        if conn is None:
            conn = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
            self._connections[topic] = conn
        elif conn.msgtype != msgtype:
            raise BagWriterError(f'topic {topic} already carries {conn.msgtype}, not {msgtype}')
        self._writer.write(conn, int(t_ns), bytes(raw_cdr))
        self.message_counts[topic] = self.message_counts.get(topic, 0) + 1

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob('*') if f.is_file())
