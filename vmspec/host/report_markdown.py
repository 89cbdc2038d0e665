"""Plans as Markdown, for a comment on a pull or merge request (``plan --output markdown``).

The same facts as the text report (vmspec/host/report.py) and in its words: a summary
line, a table of what changes, then one folded section per resource with its field
changes. Secrets never reach a plan (display passwords and disk secrets are named by
where they come from, never by value), so nothing here has to hide anything; the
tests check that a password stays out of this output as it does out of the text one.
"""

from __future__ import annotations

import html

from vmspec.compare.model import Action, Change, Kind, Plan, ResourcePlan
from vmspec.host.report import headline, label, summary, symbol

# GitHub refuses comments over 65,536 characters: past this many resources with changes,
# the details are left to the JSON plan, which a CI job keeps as an artifact.
DETAILED_RESOURCES = 200


def plan_markdown(plan: Plan, heading: str = "## vmspec plan for") -> str:
    """``heading``: the Markdown heading's level and its words before the host's URI."""
    where = f"`{plan.uri}`" + (" (this host is itself a VM)" if plan.facts.nested else "")
    lines = [f"{heading} {where}, scope `{plan.scope.name}`", ""]
    lines += [f"**{_text(summary(plan))}**", ""]
    acting = [resource for resource in plan.resources if _shown(resource)]
    unchanged = [resource for resource in plan.resources if not _shown(resource)]
    if acting:
        lines += ["| | resource | action | changes |", "| --- | --- | --- | ---: |"]
        lines += [
            f"| {_cell(symbol(r))} | {_code(label(r))} | {_cell('; '.join(headline(r)))} "
            f"| {len(r.changes) + len(r.restart_changes) or ''} |"
            for r in acting
        ]
        lines.append("")
    for resource in acting[:DETAILED_RESOURCES]:
        lines += _details(resource)
    if len(acting) > DETAILED_RESOURCES:
        hidden = len(acting) - DETAILED_RESOURCES
        lines += [f"_{hidden} more with changes: see the JSON plan (`--output json`)._", ""]
    if unchanged:
        names = ", ".join(_code(label(r)) for r in unchanged)
        lines += [f"<details><summary>{len(unchanged)} unchanged</summary>", "", names, ""]
        lines += ["</details>", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def fleet_markdown(fleet) -> str:
    """Every host's plan (or why it was not reached), then the moves and what could not
    be placed."""
    lines = ["## vmspec plan for the inventory", ""]
    lines += ["| host | reached | plan |", "| --- | --- | --- |"]
    for host_plan in fleet.hosts:
        reached, said = (
            ("no", host_plan.error or "")
            if host_plan.plan is None
            else ("yes", summary(host_plan.plan))
        )
        lines.append(f"| {_code(host_plan.host.name)} | {reached} | {_cell(said)} |")
    lines.append("")
    for move in fleet.moves:
        size = f"{move.bytes / 2**20:.1f} MiB to send" if move.volumes else "no volumes"
        refused = f": refused: {move.reason}" if move.reason else ""
        lines.append(
            f"- move {_code(move.name)}: {_code(move.source)} → {_code(move.target)} "
            f"({_text(size)}){_text(refused)}"
        )
    lines += [f"- not placed: {_code(s.name)}: {_text(s.reason)}" for s in fleet.skipped]
    if fleet.moves or fleet.skipped:
        lines.append("")
    for host_plan in fleet.hosts:
        if host_plan.plan is not None:
            lines.append(plan_markdown(host_plan.plan, f"### {_text(host_plan.host.name)}:"))
        else:
            lines += [f"### {_text(host_plan.host.name)}: not reached", ""]
            lines += [_text(host_plan.error or ""), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _shown(resource: ResourcePlan) -> bool:
    """In the table: whatever apply acts on, refuses, or leaves waiting for a restart."""
    return resource.action != Action.NONE or resource.has_changes or resource.restart is not None


def _details(resource: ResourcePlan) -> list[str]:
    rows = [(change, change.change_class) for change in resource.changes]
    rows += [
        (change, "the running guest; restart")
        for change in resource.restart_changes
        if change not in resource.changes
    ]
    notes = resource.notes if resource.action != Action.NONE or resource.kind != Kind.DOMAIN else []
    extra = (
        [f"known after apply: {resource.known_after_apply}"] if resource.known_after_apply else []
    )
    if not rows and not notes and not extra:
        return []
    title = f"<code>{html.escape(symbol(resource) + ' ' + label(resource))}</code>"
    lines = [f"<details><summary>{title}: {html.escape('; '.join(headline(resource)))}</summary>"]
    lines.append("")
    if rows:
        lines += ["| field | from | to | takes effect |", "| --- | --- | --- | --- |"]
        lines += [_change_row(change, when) for change, when in rows]
        lines.append("")
    lines += [f"- {_text(line)}" for line in [*extra, *(f"note: {n}" for n in notes)]]
    while lines[-1] == "":
        lines.pop()
    return [*lines, "", "</details>", ""]


def _change_row(change: Change, when: str) -> str:
    before = _code(change.before) if change.before is not None else "_(absent)_"
    after = _code(change.after) if change.after is not None else "_(absent)_"
    return f"| {_code(change.path)} | {before} | {after} | {_cell(str(when))} |"


def _code(value: str) -> str:
    """A code span that survives a table: one line, pipes escaped (GFM splits cells on
    them even inside code), and enough backticks around it to hold any it contains."""
    flat = " ".join(value.split("\n")).replace("|", "\\|")
    fence = "`"
    while fence in flat:
        fence += "`"
    padding = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{padding}{flat}{padding}{fence}"


def _text(value: str) -> str:
    """Prose from libvirt or a spec: no HTML, no emphasis or links by accident."""
    escaped = html.escape(" ".join(value.split("\n")), quote=False)
    for character in "\\*_[]`":
        escaped = escaped.replace(character, "\\" + character)
    return escaped


def _cell(value: str) -> str:
    return _text(value).replace("|", "\\|")
