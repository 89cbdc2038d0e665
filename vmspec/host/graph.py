"""The plan as a dependency graph: pool → volume → domain, network → domain,
seed → domain. Each resource plan names what it needs (``ResourcePlan.needs``);
this module spreads refusals along those edges and cuts a plan down to targets.
"""

from __future__ import annotations

from collections.abc import Iterable

from vmspec.compare.model import NOT_CONVERGING, Action, Kind, ResourcePlan

TARGET_KINDS = tuple(Kind)


class TargetError(ValueError):
    """A --target that names nothing in the specs."""


def block_dependents(plans: list[ResourcePlan]) -> None:
    """A resource whose dependency is refused or blocked is blocked too, with the reason,
    so apply leaves it alone instead of half-making it. ``plans`` is in dependency order."""
    not_converging = {}
    for plan in plans:
        cause = next((need for need in plan.needs if need in not_converging), None)
        if cause is not None and plan.action not in NOT_CONVERGING:
            plan.action = Action.BLOCKED
            plan.reason = f"it needs the {key_noun(cause)}, which is {not_converging[cause]}"
        if plan.action in NOT_CONVERGING:
            not_converging[plan.key] = "refused" if plan.action != Action.BLOCKED else "blocked"


def dependents_of(failed: str, plans: Iterable[ResourcePlan]) -> list[ResourcePlan]:
    """Every plan that needs ``failed``, directly or through others."""
    down, found = {failed}, []
    for plan in plans:  # dependency order: one pass reaches the whole chain
        if any(need in down for need in plan.needs):
            down.add(plan.key)
            found.append(plan)
    return found


def parse_target(text: str) -> str:
    """``KIND/NAME`` (a volume: ``volume/POOL/NAME``) or a bare VM name → a plan key."""
    kind, _, name = text.partition("/")
    if not name:
        return f"{Kind.DOMAIN}/{text}"
    if kind == "vm":
        kind = Kind.DOMAIN
    if kind not in TARGET_KINDS:
        raise TargetError(
            f"--target {text}: unknown kind {kind!r}; use {', '.join(TARGET_KINDS)} (KIND/NAME)"
        )
    return f"{kind}/{name}"


def with_dependencies(plans: list[ResourcePlan], targets: Iterable[str]) -> list[ResourcePlan]:
    """The targeted plans and everything they need, in the plan's order."""
    by_key = {plan.key: plan for plan in plans}
    unknown = [target for target in targets if target not in by_key]
    if unknown:
        raise TargetError(
            "; ".join(f"--target {target}: no spec describes it" for target in unknown)
        )
    wanted: set[str] = set()
    pending = list(targets)
    while pending:
        key = pending.pop()
        if key in wanted or key not in by_key:
            continue  # a need that exists on the host and is not the specs' to plan
        wanted.add(key)
        pending.extend(by_key[key].needs)
    return [plan for plan in plans if plan.key in wanted]


def key_noun(key: str) -> str:
    """``pool/images`` → ``pool images``: a plan key as a message names it."""
    kind, _, name = key.partition("/")
    return f"{kind} {name}"
