"""User-facing errors: the CLI prints them as one line and exits non-zero."""

from __future__ import annotations


class NasError(Exception):
    """Base of every error caused by user input rather than a bug."""

    exit_code = 2


class SpecError(NasError):
    """An invalid architecture or search space; says which file and which key."""

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        if len(message) > 400:  # never print a huge (e.g. alias-expanded or 10 MB) value
            message = message[:397] + "..."
        self.source, self.key, self.detail = source, key, message
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message)

    def located(self, *, source: str | None = None, key_prefix: str | None = None) -> "SpecError":
        """The same error with a file name and/or an outer key path added."""
        key = self.key
        if key_prefix:
            key = f"{key_prefix}.{key}" if key else key_prefix
        return SpecError(self.detail, source=source or self.source, key=key)
