"""plan --output markdown: the plan as a pull-request comment, on the test driver."""

from __future__ import annotations

from tests.conftest import MINIMAL_SPEC, vmspec, write_spec
from tests.host.conftest import TEST_PREFIX, guest_spec, write
from tests.host.test_apply_test_driver import apply, plan
from vmspec.compare.facts import HostFacts
from vmspec.compare.model import Action, Change, ChangeClass, Kind, Plan, ResourcePlan
from vmspec.host.report_markdown import COMMENT_BUDGET, plan_markdown
from vmspec.scope import Scope

PASSWORD = "pw|`<b>9"


def test_an_update_shows_a_table_row_and_a_row_per_changed_field_without_the_password(
    host, tmp_path, monkeypatch
):
    monkeypatch.setenv("VMSPEC_MD_PASSWORD", PASSWORD)
    spec = write(tmp_path, "a", guest_spec("a", state="stopped"))
    apply(host, spec)
    display = "graphics: [{type: vnc, listen: 127.0.0.1, passwordEnv: VMSPEC_MD_PASSWORD}]\n"
    write(tmp_path, "a", guest_spec("a", display, state="stopped", memory="128MiB"))
    markdown = plan_markdown(plan(host, spec))
    assert f"| ~ | `{TEST_PREFIX}a` | update |" in markdown
    assert "| `memory` | `65536` | `131072` | restart |" in markdown, markdown
    assert "| `devices/graphics[1]` | _(absent)_ | `<graphics type=" in markdown
    assert f"<summary><code>~ {TEST_PREFIX}a</code>: update</summary>" in markdown
    assert PASSWORD not in markdown
    assert markdown.endswith("\n\n</details>\n") and "\n\n\n" not in markdown


def test_cells_keep_pipes_backticks_and_html_as_text():
    odd = ResourcePlan(
        name="odd",
        action=Action.UPDATE,
        changes=[Change("metadata.description", "a|b", "`<script>`", ChangeClass.CONFIG)],
        notes=["see <docs> *now*"],
    )
    refused = ResourcePlan(name="images", kind=Kind.POOL, action=Action.REFUSE, reason="a|b")
    the_plan = Plan("test:///default", HostFacts(), [odd, refused], Scope("default", "default"))
    markdown = plan_markdown(the_plan)
    assert "| `metadata.description` | `a\\|b` | `` `<script>` `` | config |" in markdown
    assert "| ! | `pool images` | refused: a\\|b |  |" in markdown
    assert "- note: see &lt;docs&gt; \\*now\\*" in markdown
    assert "<script>" not in markdown.replace("`` `<script>` ``", "")


def many_updates(count: int) -> list[ResourcePlan]:
    return [
        ResourcePlan(
            name=f"vm{index}",
            action=Action.UPDATE,
            changes=[Change("vcpus", "1", "2", ChangeClass.RESTART)],
        )
        for index in range(count)
    ]


def test_unchanged_resources_are_folded():
    quiet = ResourcePlan(name="quiet", action=Action.NONE)
    markdown = plan_markdown(Plan("test:///default", HostFacts(), [*many_updates(2), quiet]))
    assert "<details><summary>1 unchanged</summary>\n\n`quiet`" in markdown
    assert "**Plan: 2 to update, 1 unchanged.**" in markdown and "Cut short" not in markdown


def test_a_plan_too_long_for_a_comment_keeps_every_row_and_stops_adding_details():
    markdown = plan_markdown(Plan("test:///default", HostFacts(), many_updates(400)))
    assert len(markdown) <= COMMENT_BUDGET
    assert markdown.count("\n| ~ | `vm") == 400
    detailed = markdown.count("<details><summary><code>~ vm")
    assert 0 < detailed < 400
    assert f"_Cut short ({400 - detailed} without their details): `--output json`" in markdown


def test_a_small_budget_cuts_rows_too():
    markdown = plan_markdown(Plan("test:///default", HostFacts(), many_updates(100)), budget=2000)
    assert len(markdown) <= 2000
    rows = markdown.count("\n| ~ | `vm")
    assert 0 < rows < 100 and f"_Cut short ({100 - rows} more with changes" in markdown


def test_the_command_exits_as_plan_does(tmp_path):
    spec = write_spec(tmp_path, MINIMAL_SPEC)
    result = vmspec("plan", "--output", "markdown", "-c", "test:///default", str(spec))
    assert result.returncode == 2, result.stderr
    assert result.stdout.startswith("## vmspec plan for `test:///default`, scope `default`\n")
    assert "| + | `tiny` | create |  |" in result.stdout


def test_an_inventory_gets_a_table_of_hosts_and_a_section_per_host(tmp_path):
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(
        "apiVersion: vmspec/v1\nkind: Inventory\nmetadata: {name: lab}\nspec:\n  hosts:\n"
        '    - {name: a, uri: "test:///default"}\n'
        f'    - {{name: b, uri: "test://{tmp_path}/missing.xml"}}\n'
    )
    spec = write_spec(tmp_path, MINIMAL_SPEC + "  placement: {host: a}\n")
    result = vmspec("plan", "--output", "markdown", "--inventory", str(inventory), str(spec))
    assert result.returncode == 1  # b cannot be reached
    assert "| `a` | yes | Plan: 1 to create. |\n| `b` | no | connecting to" in result.stdout
    assert "### a: `test:///default`, scope `default`\n" in result.stdout
    assert "| + | `tiny` | create |  |" in result.stdout
    assert "### b: not reached\n" in result.stdout
