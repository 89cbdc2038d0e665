"""plan/apply on libvirt's embedded test driver: real libvirt XML handling, no daemon.

Each test opens the driver on a node file of its own (``test:///PATH``), which gives
it a private host holding one running domain, "test", that vmspec did not create,
and the network "default", as test:///default does; one connection per test keeps state between plan and apply.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import EXAMPLES
from tests.host.conftest import TEST_PREFIX, guest_spec, libvirt, write
from vmspec.compare.model import Action, Options, Plan
from vmspec.compile import ValidDocuments
from vmspec.host.apply import apply_plan
from vmspec.host.connection import Host
from vmspec.host.session import plan_documents


def plan(host: Host, *paths: Path, **flags: bool) -> Plan:
    documents = ValidDocuments(paths)
    valid = list(documents)
    assert documents.problems == []
    return plan_documents(host, valid, Options(**flags))


def apply(host: Host, *paths: Path, **flags: bool) -> tuple[Plan, list[str]]:
    done: list[str] = []
    the_plan = plan(host, *paths, **flags)
    failures = apply_plan(host, the_plan, Options(**flags), done.append, shutdown_timeout=0.1)
    assert failures == []
    return the_plan, done


def actions(the_plan: Plan) -> dict[str, str]:
    return {domain.name: domain.action for domain in the_plan.resources}


# The test driver cannot upload volumes (virStorageVolUpload), which cloud-init seeds
# need, and its pools hold no base image: that example runs on the real libvirtd.
EXAMPLES_WITHOUT_SEEDS = sorted(
    path for path in EXAMPLES.glob("*.yaml") if path.name != "cloud-init.yaml"
)


# The iSCSI pool the storage lab's LUN comes from: the SAN admin's, not in the specs (vmspec
# defines no iSCSI pools), so it is on the host beforehand, as on a real one.
ISCSI_LAB = """<pool type='iscsi'><name>iscsi-lab</name>
  <source><host name='iscsi.example.net'/><device path='iqn.2024-01.net.example:lab'/></source>
  <target><path>/dev/disk/by-path</path></target></pool>"""


def test_every_example_applies_and_a_second_plan_has_no_changes(host):
    pool = host.connection.storagePoolDefineXML(ISCSI_LAB)
    pool.create()
    pool.createXML("<volume><name>unit:0:0:1</name><capacity unit='G'>1</capacity></volume>")
    first, done = apply(host, *EXAMPLES_WITHOUT_SEEDS)
    assert set(actions(first).values()) == {Action.CREATE}
    assert "  web-01: started" in done and "  web-01: autostart on" in done
    assert "  network lab: started" in done and "  pool images: started" in done
    second = plan(host, *EXAMPLES_WITHOUT_SEEDS)
    assert not second.has_changes, [
        (d.name, d.changes, d.state) for d in second.resources if d.has_changes
    ]
    assert host.connection.lookupByName("web-01").autostart() == 1


def test_a_changed_spec_updates_in_place_with_the_same_uuid(host, tmp_path):
    spec = write(tmp_path, "a", guest_spec("a", state="stopped"))
    apply(host, spec)
    uuid = host.connection.lookupByName(f"{TEST_PREFIX}a").UUIDString()
    write(tmp_path, "a", guest_spec("a", state="stopped", memory="128MiB"))
    updated, _ = apply(host, spec)
    (resource_plan,) = updated.resources
    assert resource_plan.action == Action.UPDATE and not resource_plan.drift
    assert [c.path for c in resource_plan.changes] == ["memory", "currentMemory"]
    domain = host.connection.lookupByName(f"{TEST_PREFIX}a")
    assert domain.UUIDString() == uuid
    assert domain.maxMemory() == 128 * 1024
    assert not plan(host, spec).has_changes


def test_a_changed_profile_is_a_change_of_the_vms_that_list_it(host, tmp_path):
    profile = "apiVersion: vmspec/v1\nkind: Profile\nmetadata:\n  name: small\nspec:\n"
    write(tmp_path, "profiles-small", profile + "  memory: 64MiB\n")
    spec = write(tmp_path, "a", guest_spec("a", "profiles: [small]\n", state="stopped"))
    spec.write_text(spec.read_text().replace("  memory: 64MiB\n", ""))
    apply(host, tmp_path)
    assert not plan(host, tmp_path).has_changes
    write(tmp_path, "profiles-small", profile + "  memory: 128MiB\n")
    (resource_plan,) = plan(host, tmp_path).resources
    assert resource_plan.action == Action.UPDATE
    assert [c.path for c in resource_plan.changes] == ["memory", "currentMemory"]


def test_an_unmanaged_domain_is_refused_and_left_as_it_was(host, tmp_path):
    # The test driver ships a domain named "test" that vmspec did not create.
    before = host.connection.lookupByName("test").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    spec = write(tmp_path, "test", guest_spec("x").replace(f"{TEST_PREFIX}x", "test"))
    the_plan = plan(host, spec)
    (resource_plan,) = the_plan.resources
    assert resource_plan.action == Action.REFUSE
    assert "--adopt" in resource_plan.reason
    apply_plan(host, the_plan, Options(), lambda _: None)
    assert host.connection.lookupByName("test").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before


def test_adopt_takes_over_and_keeps_the_uuid(host, tmp_path):
    uuid = host.connection.lookupByName("test").UUIDString()
    spec = write(
        tmp_path, "test", guest_spec("x", state="running").replace(f"{TEST_PREFIX}x", "test")
    )
    adopted, _ = apply(host, spec, adopt=True)
    assert actions(adopted) == {"test": Action.ADOPT}
    assert host.connection.lookupByName("test").UUIDString() == uuid
    again = plan(host, spec)
    assert actions(again) == {"test": Action.NONE} and not again.has_changes


def test_prune_deletes_only_managed_domains_no_spec_names(host, tmp_path):
    write(tmp_path, "a", guest_spec("a", state="stopped"))
    write(tmp_path, "b", guest_spec("b", state="stopped"))
    apply(host, tmp_path)
    (tmp_path / "b.yaml").unlink()
    without_prune = plan(host, tmp_path)
    assert not without_prune.has_changes
    pruned, done = apply(host, tmp_path, prune=True)
    assert actions(pruned) == {f"{TEST_PREFIX}a": Action.NONE, f"{TEST_PREFIX}b": Action.DELETE}
    assert f"  {TEST_PREFIX}b: deleted (disks kept)" in done
    names = {domain.name() for domain in host.connection.listAllDomains()}
    assert f"{TEST_PREFIX}b" not in names and {f"{TEST_PREFIX}a", "test"} <= names


def test_pruning_a_running_domain_needs_force(host, tmp_path):
    write(tmp_path, "a", guest_spec("a", state="running"))
    apply(host, tmp_path)
    (tmp_path / "a.yaml").unlink()
    write(tmp_path, "other", guest_spec("other", state="stopped"))
    refused = plan(host, tmp_path, prune=True)
    assert actions(refused)[f"{TEST_PREFIX}a"] == Action.REFUSE
    forced, _ = apply(host, tmp_path, prune=True, force=True)
    assert actions(forced)[f"{TEST_PREFIX}a"] == Action.DELETE


def test_a_running_guest_with_a_restart_change_stays_up_unless_restart_is_given(host, tmp_path):
    spec = write(tmp_path, "a", guest_spec("a"))
    apply(host, spec)
    write(tmp_path, "a", guest_spec("a", memory="96MiB"))
    pending = plan(host, spec)
    assert pending.resources[0].restart == "needed"
    apply(host, spec)
    assert host.connection.lookupByName(f"{TEST_PREFIX}a").isActive()
    assert (
        plan(host, spec).resources[0].restart == "needed"
    )  # the definition is current; the guest is not


def test_drift_outside_the_specs_fields_is_found_and_repaired(host, tmp_path):
    spec = write(tmp_path, "a", guest_spec("a", state="stopped"))
    apply(host, spec)
    domain = host.connection.lookupByName(f"{TEST_PREFIX}a")
    xml = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    host.connection.defineXML(
        xml.replace("</devices>", "<watchdog model='i6300esb' action='reset'/></devices>")
    )
    drifted = plan(host, spec)
    (resource_plan,) = drifted.resources
    assert resource_plan.action == Action.UPDATE and resource_plan.drift
    # A watchdog the spec does not ask for (the test driver keeps few other devices).
    assert [c.path for c in resource_plan.changes] == ["devices/watchdog[i6300esb]"]
    apply(host, spec)
    assert "watchdog" not in host.connection.lookupByName(f"{TEST_PREFIX}a").XMLDesc(0)
    assert not plan(host, spec).has_changes


def test_plan_json_is_stable_and_documented(host, tmp_path):
    spec = write(tmp_path, "a", guest_spec("a"))
    document = plan(host, spec).to_json()
    assert document["formatVersion"] == 1 and document["changes"] is True
    (entry,) = document["resources"]
    assert entry["name"] == f"{TEST_PREFIX}a"
    assert entry["action"] == "create"
    assert entry["state"] == {"from": "stopped", "to": "running"}
    assert entry["kind"] == "domain"
    assert set(entry) == {
        "kind",
        "name",
        "action",
        "drift",
        "changes",
        "state",
        "autostart",
        "restart",
        "notes",
        "reason",
        "restartChanges",
        "needs",
        "knownAfterApply",
        "owner",
    }
    assert set(document) == {"formatVersion", "uri", "scope", "host", "changes", "resources"}
    assert document["scope"] == {"name": "default", "source": "default"}


NETWORK_SPEC = f"""\
apiVersion: vmspec/v1
kind: Network
metadata: {{name: {TEST_PREFIX}net}}
spec:
  forward: isolated
  ip: {{address: 10.253.50.1, prefix: 24, dhcp: {{start: 10.253.50.10, end: 10.253.50.20}}}}
"""


def test_network_drift_is_found_and_repaired(host, tmp_path):
    spec = write(tmp_path, "net", NETWORK_SPEC)
    apply(host, spec)
    network = host.connection.networkLookupByName(f"{TEST_PREFIX}net")
    # Stopped first: the test driver shows one definition (the running one while active).
    network.destroy()
    host.connection.networkDefineXML(network.XMLDesc(0).replace("10.253.50.20", "10.253.50.30"))
    drifted = plan(host, spec)
    (network_plan,) = drifted.resources
    assert network_plan.action == Action.UPDATE and network_plan.state == ("stopped", "running")
    assert [(c.path, c.before, c.after) for c in network_plan.changes] == [
        ("ip[1]/dhcp/range[1]/@end", "10.253.50.30", "10.253.50.20")
    ]
    apply(host, spec)
    assert "10.253.50.20" in host.connection.networkLookupByName(f"{TEST_PREFIX}net").XMLDesc(0)


def test_a_same_named_pool_made_by_hand_is_refused(host, tmp_path):
    pool_xml = f"<pool type='dir'><name>{TEST_PREFIX}pool</name><target><path>/tmp/elsewhere</path></target></pool>"
    host.connection.storagePoolDefineXML(pool_xml, 0)
    spec = write(
        tmp_path,
        "pool",
        f"apiVersion: vmspec/v1\nkind: StoragePool\nmetadata: {{name: {TEST_PREFIX}pool}}\n"
        "spec: {type: dir, path: /tmp/elsewhere}\n",
    )
    (pool_plan,) = plan(host, spec).resources
    assert pool_plan.action == Action.REFUSE
    assert "this scope ('default') did not create it" in pool_plan.reason
