"""Lowering: a validated spec becomes a tree of config objects, with the policy defaults applied."""

from vmspec.lower.machine import lower_virtual_machine

__all__ = ["lower_virtual_machine"]
