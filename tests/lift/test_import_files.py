"""vmspec import --xml at scale: many files, several of one name, pretty-printed XML."""

from __future__ import annotations

import yaml

from tests.conftest import vmspec

GUEST = """<domain type='qemu'>
  <name>QEMUGuest1</name>
  <memory unit='KiB'>219136</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  {extra}
</domain>
"""


def test_files_of_one_name_are_each_reported_with_their_own_reasons(tmp_path):
    plain = tmp_path / "plain.xml"
    plain.write_text(GUEST.format(extra=""))
    shmem = tmp_path / "shmem.xml"
    shmem.write_text(GUEST.format(extra="<devices><shmem name='board'/></devices>"))
    again = tmp_path / "again.xml"
    again.write_text(GUEST.format(extra=""))
    result = vmspec("import", "--xml", str(plain), "--xml", str(shmem), "--xml", str(again))
    assert result.returncode == 1
    # The second file's own loss is named, though a domain of its name came first.
    assert "QEMUGuest1: not imported; the spec cannot express:\n  /domain/devices/shmem" in (
        result.stderr
    )
    assert "QEMUGuest1: not imported: a domain of that name was imported already" in result.stderr
    assert result.stdout.count("name: QEMUGuest1") == 1


def test_what_virt_install_writes_and_libvirt_fills_in_is_no_loss(tmp_path):
    # A console alone (libvirt makes it a serial port with its console) and the agent's
    # channel binding where libvirt chooses: the same guest as a pty serial and guestAgent.
    written = tmp_path / "virt-install.xml"
    written.write_text(
        GUEST.replace("<domain type='qemu'>", "<domain type='kvm'>").format(
            extra="<devices><console type='pty'/><channel type='unix'><source mode='bind'/>"
            "<target type='virtio' name='org.qemu.guest_agent.0'/></channel></devices>"
        )
    )
    result = vmspec("import", "--xml", str(written))
    assert result.returncode == 0, result.stderr
    spec = yaml.safe_load(result.stdout)["spec"]
    assert spec["serials"] == [{"type": "pty"}] and spec["guestAgent"] is True
