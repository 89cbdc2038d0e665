"""IP addresses as libvirt's schema (basictypes.rng) takes them, which is narrower than
what Python's ipaddress accepts."""

from __future__ import annotations

import ipaddress


def is_ip_address_libvirt_takes(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    if "%" in text:  # a scope zone (fe80::1%eth0): Python takes it, libvirt's ipv6Addr not
        return False
    if "." in text and "::" in text:
        # libvirt's ipv6Addr has a dotted IPv4 tail right after '::', or after groups when
        # the address starts with '::'; never '1::2:1.2.3.4', which Python takes.
        head, tail = text.split("::", 1)
        return head == "" or ":" not in tail
    return True
