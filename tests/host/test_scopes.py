"""Scopes on libvirt's test driver: what one repo's specs may touch on a host that
others apply to as well (see vmspec/scope.py)."""

from __future__ import annotations

from pathlib import Path

from tests.host.conftest import TEST_PREFIX, guest_spec, write
from vmspec.compare.model import Action, Options, Plan
from vmspec.compile import ValidDocuments
from vmspec.host.apply import apply_plan
from vmspec.host.connection import Host
from vmspec.host.report import plan_lines
from vmspec.host.session import plan_documents
from vmspec.scope import Scope


def plan_in(scope: str, host: Host, *paths: Path, **flags: bool) -> Plan:
    documents = ValidDocuments(paths)
    valid = list(documents)
    assert documents.problems == []
    return plan_documents(host, valid, Options(**flags, scope=Scope(scope, "--scope")))


def apply_in(scope: str, host: Host, *paths: Path, **flags: bool) -> Plan:
    the_plan = plan_in(scope, host, *paths, **flags)
    failures = apply_plan(
        host, the_plan, Options(**flags, scope=Scope(scope, "--scope")), lambda _: None
    )
    assert failures == []
    return the_plan


def by_key(the_plan: Plan) -> dict[str, str]:
    return {plan.key: plan.action for plan in the_plan.resources}


def network_spec(name: str, subnet: str) -> str:
    return (
        f"apiVersion: vmspec/v1\nkind: Network\nmetadata: {{name: {TEST_PREFIX}{name}}}\n"
        f"spec: {{forward: isolated, ip: {{address: {subnet}.1, prefix: 24}}}}\n"
    )


def test_prune_deletes_only_what_its_own_scope_made(host, tmp_path):
    team_a, team_b = tmp_path / "a", tmp_path / "b"
    team_a.mkdir(), team_b.mkdir()
    write(team_a, "vm", guest_spec("a-vm", state="stopped"))
    write(team_a, "net", network_spec("a-net", "10.251.1"))
    write(team_b, "vm", guest_spec("b-vm", state="stopped"))
    apply_in("team-a", host, team_a)
    apply_in("team-b", host, team_b)

    (team_b / "vm.yaml").unlink()
    write(team_b, "other", guest_spec("b-other", state="stopped"))
    pruned = apply_in("team-b", host, team_b, prune=True)

    assert by_key(pruned)[f"domain/{TEST_PREFIX}b-vm"] == Action.DELETE
    assert f"domain/{TEST_PREFIX}a-vm" not in by_key(pruned)
    assert f"network/{TEST_PREFIX}a-net" not in by_key(pruned)
    names = {domain.name() for domain in host.connection.listAllDomains()}
    assert f"{TEST_PREFIX}a-vm" in names and f"{TEST_PREFIX}b-vm" not in names
    assert host.connection.networkLookupByName(f"{TEST_PREFIX}a-net").isActive()


def test_a_spec_naming_another_scopes_vm_is_refused_with_the_owner_and_the_way_out(host, tmp_path):
    spec = write(tmp_path, "vm", guest_spec("shared", state="stopped"))
    apply_in("team-a", host, spec)
    before = host.connection.lookupByName(f"{TEST_PREFIX}shared").XMLDesc(0)
    write(tmp_path, "vm", guest_spec("shared", state="stopped", memory="96MiB"))

    refused = plan_in("team-b", host, spec)
    (resource,) = refused.resources
    assert resource.action == Action.REFUSE
    assert "belongs to the scope 'team-a'" in resource.reason
    assert "--adopt in the scope 'team-b'" in resource.reason
    apply_plan(host, refused, Options(scope=Scope("team-b", "--scope")), lambda _: None)
    assert host.connection.lookupByName(f"{TEST_PREFIX}shared").XMLDesc(0) == before

    moved = apply_in("team-b", host, spec, adopt=True)
    (resource,) = moved.resources
    assert resource.action == Action.ADOPT and resource.owner == ("team-a", "team-b")
    assert "adopt (owner: scope 'team-a' → 'team-b')" in "\n".join(plan_lines(moved))
    assert 'scope="team-b"' in host.connection.lookupByName(f"{TEST_PREFIX}shared").XMLDesc(0)
    assert by_key(plan_in("team-b", host, spec)) == {f"domain/{TEST_PREFIX}shared": Action.NONE}
    assert by_key(plan_in("team-a", host, spec))[f"domain/{TEST_PREFIX}shared"] == Action.REFUSE


def test_a_network_of_another_scope_is_refused_naming_its_owner(host, tmp_path):
    team_a, team_b = tmp_path / "a", tmp_path / "b"
    team_a.mkdir(), team_b.mkdir()
    write(team_a, "net", network_spec("net", "10.251.2"))
    write(team_a, "vm", guest_spec("owner", state="stopped"))
    apply_in("team-a", host, team_a)
    write(team_b, "net", network_spec("net", "10.251.2"))
    (resource,) = plan_in("team-b", host, team_b).resources
    assert resource.action == Action.REFUSE
    assert "belongs to the scope 'team-a'" in resource.reason


def test_domains_made_before_scopes_belong_to_the_default_scope(host, tmp_path):
    spec = write(tmp_path, "vm", guest_spec("old", state="stopped"))
    apply_in("default", host, spec)
    xml = host.connection.lookupByName(f"{TEST_PREFIX}old").XMLDesc(0)
    assert "scope=" not in xml  # the marker of before scopes existed
    assert by_key(plan_in("default", host, spec)) == {f"domain/{TEST_PREFIX}old": Action.NONE}
    assert by_key(plan_in("other", host, spec))[f"domain/{TEST_PREFIX}old"] == Action.REFUSE


def test_plan_text_and_json_carry_the_scope(host, tmp_path):
    spec = write(tmp_path, "vm", guest_spec("shown", state="stopped"))
    the_plan = plan_in("team-a", host, spec)
    assert plan_lines(the_plan)[0].endswith("in scope 'team-a' (from --scope):")
    assert the_plan.to_json()["scope"] == {"name": "team-a", "source": "--scope"}
