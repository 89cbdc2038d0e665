"""Lifting: the inverse of lowering. A libvirt domain becomes a spec document, and what
the spec vocabulary cannot express is listed, never silently lost (``vmspec import``)."""

from vmspec.lift.machine import Lifted, lift_domain

__all__ = ["Lifted", "lift_domain"]
