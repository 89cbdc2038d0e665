"""The floor plan_bench.py holds a no-change `vmspec plan` against: the bare libvirt calls
any plan needs. Open the connection, list the persistent domains, read each one's
inactive XML, close.

    .venv/bin/python benchmarks/plan_floor.py URI
"""

from __future__ import annotations

import sys

import libvirt


def read_all_definitions(uri: str) -> int:
    connection = libvirt.open(uri)
    try:
        domains = connection.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT)
        for domain in domains:
            domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        return len(domains)
    finally:
        connection.close()


if __name__ == "__main__":
    read_all_definitions(sys.argv[1])
