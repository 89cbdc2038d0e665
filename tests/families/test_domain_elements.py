"""Small elements of <domain> itself: a title, a VM generation ID whose value is
libvirt's, and a running domain's id (live state, no loss)."""

from __future__ import annotations

from vmspec.lift.sources import lift_xml


def domain(inside: str, *, attributes: str = "") -> str:
    return (
        f"<domain type='qemu'{attributes}><name>small</name>"
        "<uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>"
        f"{inside}<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>"
    )


def test_a_title_imports_into_metadata():
    lifted = lift_xml(domain("<title>Build runner</title>"), "small")
    assert lifted.dropped == ()
    assert lifted.document["metadata"]["title"] == "Build runner"


def test_a_generation_id_of_any_value_imports_as_one_libvirt_chooses():
    lifted = lift_xml(domain("<genid>00010203-0405-4607-8809-0a0b0c0d0e0f</genid>"), "small")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["genid"] is True


def test_a_running_domains_id_is_no_loss():
    assert lift_xml(domain("", attributes=" id='7'"), "small").dropped == ()
