"""The floor plan_bench.py holds a no-change `vmspec plan` against: the bare libvirt calls
any plan needs. Open the connection, list the persistent domains, read each one's
inactive XML (one undefined meanwhile is skipped, as the plan does), close.

    .venv/bin/python benchmarks/plan_floor.py URI
"""

from __future__ import annotations

import sys

import libvirt


def read_all_definitions(uri: str) -> int:
    connection = libvirt.open(uri)
    try:
        domains = connection.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT)
        read = 0
        for domain in domains:
            try:
                domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
                read += 1
            except libvirt.libvirtError as error:
                # Undefined since the listing (tests on a shared libvirtd): the plan
                # skips it too (vmspec/host/inventory.py).
                if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
        return read
    finally:
        connection.close()


if __name__ == "__main__":
    read_all_definitions(sys.argv[1])
