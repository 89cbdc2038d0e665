"""Host names and IP addresses as libvirt's schema takes them, for every field that names
a host (a network disk's, a display's listen address, an NFS pool's server)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from vmspec.problems import FieldPath, Finding

# libvirt's schema (basictypes.rng) takes a host as a dnsName, letters, digits, '.' and
# '-', or else an ipAddr; the JSON Schema's pattern lets anything of hex digits, ':' and
# '.' through, so what is not a DNS name must be an address libvirt's ipv6Addr matches.
_DNS_NAME = re.compile(r"[A-Za-z0-9.-]+")


def host_name_findings(name: str, where: FieldPath) -> Iterator[Finding]:
    if _DNS_NAME.fullmatch(name) or is_ip_address_libvirt_takes(name):
        return
    yield Finding(where, f"{name!r} is neither a DNS name nor an IP address")


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
