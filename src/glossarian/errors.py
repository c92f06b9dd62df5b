"""The one user-facing error type: every message says what went wrong and how to fix it."""
from __future__ import annotations


class GlossarianError(Exception):
    """An error meant for the user. `hint` says how to fix it; the CLI and UI show both."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class CorpusError(GlossarianError):
    """A corpus file is malformed (names the file and line)."""


class IndexNotFound(GlossarianError):
    """No index has been built yet."""


class IndexInvalid(GlossarianError):
    """The index on disk is corrupt, incomplete, or built with another model."""


class ModelError(GlossarianError):
    """The embedding model cannot be provisioned or loaded."""


class InputError(GlossarianError):
    """A question or request the product refuses (empty, too long, wrong type)."""


class ToolError(GlossarianError):
    """A computation tool refused its arguments or failed to run."""
