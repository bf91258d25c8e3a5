"""The alert store: every alert event kept once, each alert's current state, acknowledgements.

``AlertStore.open(url)`` takes ``sqlite:///PATH``, a bare path or ``:memory:``.
"""

from perimeter.store.audit import ThresholdAudit, ThresholdChange
from perimeter.store.records import (
    AlertRecord,
    AlertStatus,
    StoredEvent,
    StoreError,
    UnknownAlertError,
    decode_cursor,
    encode_cursor,
)
from perimeter.store.sqlite import MAX_PAGE, AlertStore

__all__ = [
    "MAX_PAGE",
    "AlertRecord",
    "AlertStatus",
    "AlertStore",
    "StoreError",
    "StoredEvent",
    "ThresholdAudit",
    "ThresholdChange",
    "UnknownAlertError",
    "decode_cursor",
    "encode_cursor",
]
