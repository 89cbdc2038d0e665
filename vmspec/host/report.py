"""Plans and their outcome as text for people (JSON comes from Plan.to_json)."""

from __future__ import annotations

from vmspec.host.plan import ADOPT, CREATE, DELETE, NONE, REFUSE, UPDATE, DomainPlan, Plan

_SYMBOL = {CREATE: "+", UPDATE: "~", ADOPT: "~", DELETE: "-", REFUSE: "!", NONE: "="}


def plan_lines(plan: Plan) -> list[str]:
    where = plan.uri + (" (this host is itself a VM)" if plan.facts.nested else "")
    lines = [f"Plan for {where}:"]
    for domain_plan in plan.domains:
        lines.extend(_domain_lines(domain_plan))
    lines.append(summary(plan))
    return lines


def _domain_lines(plan: DomainPlan) -> list[str]:
    pending = plan.has_changes or plan.restart == "needed"
    symbol = "~" if plan.action == NONE and pending else _SYMBOL[plan.action]
    lines = [f"{symbol} {plan.name}: {'; '.join(_headline(plan))}"]
    for change in plan.changes:
        before = change.before if change.before is not None else "(absent)"
        after = change.after if change.after is not None else "(absent)"
        lines.append(f"    {change.path}: {before} → {after}  [{change.change_class}]")
    if plan.action in (CREATE, UPDATE, ADOPT):  # JSON always has them; text only where they act
        lines.extend(f"    note: {note}" for note in plan.notes)

    return lines


def _headline(plan: DomainPlan) -> list[str]:
    if plan.action == REFUSE:
        return [f"refused: {plan.reason}"]
    parts: list[str] = []
    if plan.action == UPDATE:
        parts.append("update (drift: changed behind vmspec's back)" if plan.drift else "update")
    elif plan.action == ADOPT:
        parts.append("adopt (take over as vmspec's)")
    elif plan.action == DELETE:
        parts.append(f"delete ({plan.reason})")
    elif plan.action == CREATE:
        parts.append("create")
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
    for domain_plan in plan.domains:
        key = (
            domain_plan.action
            if domain_plan.action != NONE or not domain_plan.has_changes
            else "change"
        )
        counts[key] = counts.get(key, 0) + 1
    waiting = sum(1 for domain_plan in plan.domains if domain_plan.restart == "needed")
    if not plan.has_changes and not plan.refused:
        if waiting:
            return f"No changes to apply; {waiting} running guest(s) need a restart to take theirs (apply --restart)."
        return "No changes: the host matches the specs."

    words = {
        CREATE: "to create",
        UPDATE: "to update",
        ADOPT: "to adopt",
        "change": "to start, stop or restart",
        DELETE: "to delete",
        REFUSE: "refused",
        NONE: "unchanged",
    }
    parts = [f"{counts[key]} {words[key]}" for key in words if key in counts]
    return "Plan: " + ", ".join(parts) + "."
