"""The alert store: every alert event kept once, each alert's current state, acknowledgements.

``AlertStore.open(url)`` takes ``sqlite:///PATH``, a bare path, ``:memory:`` or
``postgresql://...``.
"""

from perimeter.store.alerts import MAX_PAGE, AlertStore
from perimeter.store.audit import ThresholdAudit, ThresholdChange
from perimeter.store.operators import ROLE_RANK, ROLES, Operator, OperatorRegistry, Role
from perimeter.store.records import (
    DISPOSITIONS,
    AlertAction,
    AlertRecord,
    AlertStatus,
    Disposition,
    StoredEvent,
    StoreError,
    UnknownAlertError,
    decode_cursor,
    encode_cursor,
)
from perimeter.store.workflow import AlertWorkflow, ResolutionConflictError

__all__ = [
    "DISPOSITIONS",
    "MAX_PAGE",
    "ROLES",
    "ROLE_RANK",
    "AlertAction",
    "AlertRecord",
    "AlertStatus",
    "AlertStore",
    "AlertWorkflow",
    "Disposition",
    "Operator",
    "OperatorRegistry",
    "ResolutionConflictError",
    "Role",
    "StoreError",
    "StoredEvent",
    "ThresholdAudit",
    "ThresholdChange",
    "UnknownAlertError",
    "decode_cursor",
    "encode_cursor",
]
