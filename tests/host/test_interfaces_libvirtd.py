"""Each interface type on the real libvirtd: apply defines (and where the host allows,
starts) it, libvirt keeps what the spec says, and the next plan has nothing to do."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.host.conftest import (
    SYSTEM_URI,
    TEST_PREFIX,
    guest_spec,
    run_bridge_name,
    vmspec,
    write,
)

# Each: the NIC as the spec says it, the state the guest can reach on this host, and
# what libvirt must keep of it (XPaths of the inactive definition's <interface>).
NICS = [
    pytest.param(
        "interfaces: [{user: {}, model: e1000}]\n",
        "running",
        ["@type='user'", "model/@type='e1000'"],
        id="user",
    ),
    pytest.param(
        "interfaces: [{user: {}, driver: {name: qemu, ioeventfd: true, rxQueueSize: 512}}]\n",
        "running",
        ["driver[@name='qemu'][@ioeventfd='on'][@rx_queue_size='512']"],
        id="driver",
    ),
    pytest.param(
        # libvirt makes the tap device at start and removes it at stop.
        f"interfaces: [{{ethernet: {{target: {run_bridge_name('t')}}}, driver: {{queues: 2}}}}]\n",
        "running",
        [f"target/@dev='{run_bridge_name('t')}'", "driver/@queues='2'"],
        id="ethernet",
    ),
    pytest.param(
        "interfaces: [{ethernet: {}}]\n",
        "running",  # libvirt names the tap vnetN while it runs, and forgets it after
        ["not(target)"],
        id="ethernet-named-by-libvirt",
    ),
    pytest.param(
        # Stopped: the guest starts only with its memory shared with the switch.
        f"interfaces: [{{vhostuser: {{path: /tmp/{TEST_PREFIX}vhu.sock, mode: server}}}}]\n",
        "stopped",
        [f"source[@type='unix'][@path='/tmp/{TEST_PREFIX}vhu.sock'][@mode='server']"],
        id="vhostuser",
    ),
]


@pytest.mark.parametrize(("nics", "state", "kept"), NICS)
def test_an_applied_interface_is_kept_and_plans_to_no_changes(system, tmp_path, nics, state, kept):
    write(tmp_path, "nic", guest_spec("nic", nics, state=state))
    applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    domain = system.lookupByName(f"{TEST_PREFIX}nic")
    assert domain.isActive() == (state == "running")
    # libvirt.VIR_DOMAIN_XML_INACTIVE: what libvirt stored, not what the guest runs with.
    (nic,) = etree.fromstring(domain.XMLDesc(2)).iterfind("devices/interface")
    for xpath in kept:
        assert nic.xpath(f"boolean({xpath})"), f"{xpath}: {etree.tostring(nic).decode()}"
    again = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert again.returncode == 0, again.stdout + again.stderr
