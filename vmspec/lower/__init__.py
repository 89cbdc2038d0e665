"""Lowering: a validated spec becomes a tree of config objects, with the policy defaults applied."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vmspec.lower.machine import lower_virtual_machine

__all__ = ["lower_virtual_machine"]


def __getattr__(name: str) -> object:
    """lower_virtual_machine imports every family (~60 ms): only when it is asked for, so
    that importing a light module of this package (identity, storage) stays light."""
    if name == "lower_virtual_machine":
        from vmspec.lower.machine import lower_virtual_machine

        return lower_virtual_machine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
