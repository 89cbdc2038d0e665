"""``<parallel>``: the guest's parallel ports (formatdomain "Parallel port"), an ISA
LPT on x86 machines, in order (lp0 first), each with a chardev host side (chardev.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from vmspec.arches import X86_ARCHES, spec_arch
from vmspec.families import chardev
from vmspec.families.chardev import AnyChardev, ChardevTarget
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding

SCHEMA = {
    "type": "array",
    "maxItems": 3,
    "description": "parallel ports in order (lp0 first), on x86: an old printer's or dongle's port",
    "items": {
        "type": "object",
        "properties": chardev.SOURCE_PROPERTIES,
        "additionalProperties": False,
        "required": ["type"],
    },
    "examples": [[{"type": "file", "path": "/var/log/vmspec-lp0.log"}], [{"type": "pty"}]],
}


def _parallel_problems(spec: Spec) -> Iterator[Finding]:
    parallels = spec.get("parallels", [])
    for index, parallel in enumerate(parallels):
        yield from chardev.host_problems(parallel, ("spec", "parallels", index), "parallel port")
        yield from chardev.spice_problems(
            parallel, ("spec", "parallels", index), "parallel port", spec
        )
    arch = spec_arch(spec)
    if parallels and arch not in X86_ARCHES:
        # QEMU's parallel port is an ISA device, which only x86 machines have.
        yield Finding(("spec", "parallels"), f"a parallel port is x86's; {arch} has none")


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    for index, parallel in enumerate(spec.get("parallels", [])):
        yield from chardev.host_defaults(parallel, ("spec", "parallels", index))


def lower(spec: Spec, identity: Identity) -> tuple[AnyChardev, ...]:
    return tuple(
        chardev.lower_host(parallel, ChardevTarget(port=port))
        for port, parallel in enumerate(spec.get("parallels", []))
    )


def lift(parallels: tuple[AnyChardev, ...], spec: Spec, identity: Identity) -> list[Spec] | None:
    lifted = [entry for entry in map(chardev.lift_host, parallels) if entry is not None]
    return lifted or None


FAMILY = Family(
    spec_field="parallels",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="parallels",
    lower=lower,
    lift=lift,
    checks=(_parallel_problems,),
    policy_defaults=policy_defaults,
    libvirt_fills_in=chardev.as_stored_in_order,
    libvirt_resolves_at_start=chardev.each_against_wanted,
)
