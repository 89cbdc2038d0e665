"""Plans and their outcome as text for people (JSON comes from Plan.to_json)."""

from __future__ import annotations

from vmspec.compare.model import Action, Kind, Plan, ResourcePlan

_SYMBOL = {
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


def _resource_lines(plan: ResourcePlan) -> list[str]:
    pending = plan.has_changes or plan.restart == "needed"
    symbol = "~" if plan.action == Action.NONE and pending else _SYMBOL[plan.action]
    # Domains are what people plan most: they go by name; the rest by kind and name.
    label = plan.name if plan.kind == Kind.DOMAIN else f"{plan.kind} {plan.name}"
    lines = [f"{symbol} {label}: {'; '.join(_headline(plan))}"]
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


def _headline(plan: ResourcePlan) -> list[str]:
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
