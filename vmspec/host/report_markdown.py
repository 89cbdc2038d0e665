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

# GitHub refuses comments over 65,536 characters: the Markdown of one plan stops adding
# rows and sections at this size (with room for the CI's own words around it) and says
# what it left out; the JSON plan, which a CI job keeps as an artifact, has everything.
COMMENT_BUDGET = 60_000
_TABLE_HEAD = ["| | resource | action | changes |", "| --- | --- | --- | ---: |"]


def plan_markdown(
    plan: Plan, heading: str = "## vmspec plan for", budget: int = COMMENT_BUDGET
) -> str:
    """``heading``: the Markdown heading's level and its words before the host's URI."""
    where = f"`{plan.uri}`" + (" (this host is itself a VM)" if plan.facts.nested else "")
    lines = [f"{heading} {where}, scope `{plan.scope.name}`", ""]
    lines += [f"**{_text(summary(plan))}**", ""]
    acting = [resource for resource in plan.resources if _shown(resource)]
    unchanged = [resource for resource in plan.resources if not _shown(resource)]
    # What no budget leaves out: the head, the table's head, the closing note.
    room = budget - _size(lines) - _size(_TABLE_HEAD) - 200
    rows = [[_row(resource)] for resource in acting]
    shown = _fitting(rows, room)
    if acting:
        lines += [*_TABLE_HEAD, *(row for [row] in rows[:shown]), ""]
    details = [_details(resource) for resource in acting[:shown]]
    detailed = _fitting(details, room - _size(rows[:shown]))
    for section in details[:detailed]:
        lines += section
    without_details = sum(1 for section in details[detailed:] if section)
    if shown < len(acting) or without_details:
        left_out = [f"{len(acting) - shown} more with changes"] if shown < len(acting) else []
        left_out += [f"{without_details} without their details"] if without_details else []
        lines += [f"_Cut short ({', '.join(left_out)}): `--output json` has the whole plan._", ""]
    if unchanged:
        names = [", ".join(_code(label(r)) for r in unchanged), ""]
        fold = [f"<details><summary>{len(unchanged)} unchanged</summary>", "", *names]
        fold += ["</details>", ""]
        lines += (
            fold if _size(lines) + _size(fold) <= budget else [f"{len(unchanged)} unchanged", ""]
        )
    return "\n".join(lines).rstrip("\n") + "\n"


def _row(resource: ResourcePlan) -> str:
    changes = len(resource.changes) + len(resource.restart_changes) or ""
    headlines = _cell("; ".join(headline(resource)))
    return f"| {_cell(symbol(resource))} | {_code(label(resource))} | {headlines} | {changes} |"


def _size(blocks) -> int:
    """Characters of lines (or of lists of lines), newlines included."""
    return sum(_size(b) if isinstance(b, list) else len(b) + 1 for b in blocks)


def _fitting(blocks: list[list[str]], room: int) -> int:
    """How many of ``blocks``, from the first, fit in ``room`` characters."""
    for count, block in enumerate(blocks):
        room -= _size(block)
        if room < 0:
            return count
    return len(blocks)


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
            title = f"### {_text(host_plan.host.name)}:"
            # The hosts share one comment's budget.
            share = COMMENT_BUDGET // len(fleet.hosts)
            lines.append(plan_markdown(host_plan.plan, title, share))
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
