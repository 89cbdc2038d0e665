"""vmspec import --xml at scale: many files, several of one name, pretty-printed XML."""

from __future__ import annotations

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
    watchdog = tmp_path / "watchdog.xml"
    watchdog.write_text(GUEST.format(extra="<devices><watchdog model='i6300esb'/></devices>"))
    again = tmp_path / "again.xml"
    again.write_text(GUEST.format(extra=""))
    result = vmspec("import", "--xml", str(plain), "--xml", str(watchdog), "--xml", str(again))
    assert result.returncode == 1
    # The second file's own loss is named, though a domain of its name came first.
    assert "QEMUGuest1: not imported; the spec cannot express:\n  /domain/devices/watchdog" in (
        result.stderr
    )
    assert "QEMUGuest1: not imported: a domain of that name was imported already" in result.stderr
    assert result.stdout.count("name: QEMUGuest1") == 1
