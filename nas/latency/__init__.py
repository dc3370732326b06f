"""Per-device latency lookup tables: op keys, table files, prediction."""

from nas.latency.signature import arch_keys, head_key, op_key
from nas.latency.table import Entry, LatencyTable, MissingEntriesError, Prediction, TableError

__all__ = ["Entry", "LatencyTable", "MissingEntriesError", "Prediction", "TableError", "arch_keys", "head_key", "op_key"]
