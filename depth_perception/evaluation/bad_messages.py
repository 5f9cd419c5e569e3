"""Bad messages met during an evaluation: skipped, named (topic, index, stamp), counted.

One undecodable image or a camera_info with NaN K must not cost the whole run; but a
result that silently left frames out would be worse, so every skip is logged (the first
few in full), counted, listed in metrics.json and marks the report PARTIAL.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

LOG_FIRST = 10


@dataclass
class BadMessages:
    items: list[dict] = field(default_factory=list)
    _seen: set = field(default_factory=set)

    def add(self, topic: str, index: int, stamp_ns: int | None, problem: str) -> None:
        key = (topic, index)
        if key in self._seen:          # pass 1 and pass 2 may both meet the same message
            return
        self._seen.add(key)
        self.items.append({'topic': topic, 'index': int(index),
                           'stamp_ns': None if stamp_ns is None else int(stamp_ns), 'problem': problem})
        n = len(self.items)
        if n <= LOG_FIRST:
            st = '?' if stamp_ns is None else f'{stamp_ns / 1e9:.6f} s'
            log.warning('skipping bad message %d on %s (stamp %s): %s', index, topic, st, problem)
        elif n == LOG_FIRST + 1:
            log.warning('more bad messages: counted and listed in metrics.json, no longer logged')

    @property
    def count(self) -> int:
        return len(self.items)

    def by_topic(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for it in self.items:
            out[it['topic']] = out.get(it['topic'], 0) + 1
        return out

    def to_json(self) -> dict:
        return {'count': self.count, 'by_topic': self.by_topic(), 'items': list(self.items)}
