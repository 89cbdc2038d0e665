"""Errors from the host side: they name the VM and the operation and carry libvirt's message."""

from __future__ import annotations


class HostError(Exception):
    """A libvirt operation failed. ``str()`` is the one line the CLI prints."""

    def __init__(
        self,
        operation: str,
        message: str,
        vm: str | None = None,
        hint: str | None = None,
        code: int | None = None,
    ):
        self.operation = operation
        self.vm = vm
        self.message = message
        self.hint = hint
        self.code = code  # libvirt's error code, when libvirt raised it
        super().__init__(self.render())

    def render(self) -> str:
        subject = f"{self.vm}: " if self.vm else ""
        text = f"{subject}{self.operation} failed: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


def libvirt_message(error: Exception) -> str:
    """libvirt's own message, on one line."""
    get_message = getattr(error, "get_error_message", None)
    message = (get_message() if get_message else None) or str(error)
    return " ".join(message.split())
