"""Plans and their outcome as text for people (JSON comes from Plan.to_json)."""

from __future__ import annotations

from vmspec.compare.model import Action, Kind, Plan, ResourcePlan

SYMBOL = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.ADOPT: "~",
    Action.GROW: "~",
    Action.REPLACE: "~",
    Action.DELETE: "-",
    Action.REFUSE: "!",
    Action.BLOCKED: "!",
    Action.NONE: "=",
}


def plan_lines(plan: Plan) -> list[str]:
    where = plan.uri + (" (this host is itself a VM)" if plan.facts.nested else "")
    scope = f"scope {plan.scope.name!r}" + (
        f" (from {plan.scope.source})" if plan.scope.source != "default" else ""
    )
    lines = [f"Plan for {where} in {scope}:"]
    for resource_plan in plan.resources:
        lines.extend(_resource_lines(resource_plan))
    lines.append(summary(plan))
    return lines


def symbol(plan: ResourcePlan) -> str:
    pending = plan.has_changes or plan.restart == "needed"
    return "~" if plan.action == Action.NONE and pending else SYMBOL[plan.action]


def label(plan: ResourcePlan) -> str:
    # Domains are what people plan most: they go by name; the rest by kind and name.
    return plan.name if plan.kind == Kind.DOMAIN else f"{plan.kind} {plan.name}"


def _resource_lines(plan: ResourcePlan) -> list[str]:
    lines = [f"{symbol(plan)} {label(plan)}: {'; '.join(headline(plan))}"]
    if plan.known_after_apply and plan.action not in (Action.REFUSE, Action.BLOCKED):
        lines.append(f"    (known after apply): {plan.known_after_apply}")
    lines.extend(_change_line(change) for change in plan.changes)
    lines.extend(
        _change_line(change, "the running guest; restart")
        for change in plan.restart_changes
        if change not in plan.changes
    )
    # JSON always has the notes; text shows a domain's only where it acts.
    if plan.action != Action.NONE or plan.kind != Kind.DOMAIN:
        lines.extend(f"    note: {note}" for note in plan.notes)
    return lines


def _change_line(change, change_class: str | None = None) -> str:
    before = change.before if change.before is not None else "(absent)"
    after = change.after if change.after is not None else "(absent)"
    return f"    {change.path}: {before} → {after}  [{change_class or change.change_class}]"


def headline(plan: ResourcePlan) -> list[str]:
    if plan.action == Action.REFUSE:
        return [f"refused: {plan.reason}"]
    if plan.action == Action.BLOCKED:
        return [f"blocked: {plan.reason}"]
    parts: list[str] = []
    if plan.action == Action.UPDATE:
        parts.append("update (drift: changed behind vmspec's back)" if plan.drift else "update")
    elif plan.action == Action.ADOPT and plan.owner:
        parts.append(f"adopt (owner: scope {plan.owner[0]!r} → {plan.owner[1]!r})")
    elif plan.action == Action.ADOPT:
        parts.append("adopt (take over as vmspec's)")
    elif plan.action == Action.DELETE:
        parts.append(f"delete ({plan.reason})")
    elif plan.action == Action.CREATE:
        parts.append("create")
    elif plan.action == Action.GROW:
        parts.append("grow")
    elif plan.action == Action.REPLACE:
        parts.append("replace")
    if plan.state:
        parts.append("start" if plan.state[1] == "running" else "stop")
    if plan.autostart:
        parts.append(f"autostart {'on' if plan.autostart[1] else 'off'}")
    if plan.restart == "needed":
        parts.append("restart needed (running; apply --restart to restart it now)")
    elif plan.restart == "planned":
        parts.append("restart")
    return parts or ["no changes"]


def summary(plan: Plan) -> str:
    counts: dict[str, int] = {}
    for resource_plan in plan.resources:
        key = (
            resource_plan.action
            if resource_plan.action != Action.NONE or not resource_plan.has_changes
            else "change"
        )
        counts[key] = counts.get(key, 0) + 1
    waiting = sum(1 for resource_plan in plan.resources if resource_plan.restart == "needed")
    if not plan.has_changes and not plan.refused:
        if waiting:
            return f"No changes to apply; {waiting} running guest(s) need a restart to take theirs (apply --restart)."
        return "No changes: the host matches the specs."

    words = {
        Action.CREATE: "to create",
        Action.UPDATE: "to update",
        Action.ADOPT: "to adopt",
        Action.GROW: "to grow",
        Action.REPLACE: "to replace",
        "change": "to start, stop or restart",
        Action.DELETE: "to delete",
        Action.REFUSE: "refused",
        Action.BLOCKED: "blocked",
        Action.NONE: "unchanged",
    }
    parts = [f"{counts[key]} {words[key]}" for key in words if key in counts]
    return "Plan: " + ", ".join(parts) + "."


def fleet_lines(fleet) -> list[str]:
    """A fleet plan: each host's plan in the inventory's order, the moves, what could not
    be placed, and a table with one row per host."""
    lines: list[str] = []
    for host_plan in fleet.hosts:
        lines.append(f"== {host_plan.host.name} ({host_plan.host.uri})")
        if host_plan.plan is None:
            lines.append(f"! unreachable: {host_plan.error}")
        else:
            lines.extend(plan_lines(host_plan.plan))
        lines.append("")
    for move in fleet.moves:
        size = f"{move.bytes / 2**20:.1f} MiB to send" if move.volumes else "no volumes"
        running = "; it runs: apply with --restart shuts it down" if move.running else ""
        head = f"> {move.name}: move {move.source} → {move.target} ({size}{running})"
        lines.append(head + (f": refused: {move.reason}" if move.reason else ""))
        lines.extend(
            f"    volume {volume.pool}/{volume.name}: {volume.format or 'file'}, "
            f"{volume.allocation / 2**20:.1f} MiB allocated"
            + (f", the backing file of {volume.backing_of}" if volume.backing_of else "")
            for volume in move.volumes
        )
    for skipped in fleet.skipped:
        lines.append(f"! {skipped.name}: {skipped.reason}")
    for name, why in sorted(fleet.chosen.items()):
        lines.append(f"  placement: {name} {why}")
    lines.append("")
    lines.extend(_fleet_table(fleet))
    return lines


def _fleet_table(fleet) -> list[str]:
    rows = [("host", "reached", "create", "update", "delete", "refused", "unchanged")]
    for host_plan in fleet.hosts:
        plan = host_plan.plan
        if plan is None:
            rows.append((host_plan.host.name, "no", "", "", "", "", ""))
            continue
        count = {action: 0 for action in Action}
        for resource in plan.resources:
            count[resource.action] += 1
        rows.append(
            (
                host_plan.host.name,
                "yes",
                str(count[Action.CREATE]),
                str(count[Action.UPDATE] + count[Action.ADOPT] + count[Action.GROW]),
                str(count[Action.DELETE]),
                str(count[Action.REFUSE] + count[Action.BLOCKED]),
                str(count[Action.NONE]),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
