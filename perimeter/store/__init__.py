"""The alert store: every alert event kept once, each alert's current state, acknowledgements.

``AlertStore.open(url)`` takes ``sqlite:///PATH``, a bare path, ``:memory:`` or
``postgresql://...``.
"""

from perimeter.store.alerts import MAX_PAGE, AlertStore
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
