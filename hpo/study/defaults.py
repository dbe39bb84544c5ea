"""Study defaults that the CLI shows in ``--help``: kept free of heavy imports so help stays instant."""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_SKIPPED"]

DEFAULT_MAX_SKIPPED = 0.1  # share of a source's items that may be unusable before a study is refused
