"""``<disk>``: hard drives and cdroms, their images (a file, a block device, a pool's
volume, a network image) and how QEMU reaches them (formatdomain "Hard drives, floppy
disks, CDROMs").

The family is this package: ``config`` (the config classes), ``schema`` (the JSON Schema
of ``spec.disks``), ``policy`` (the defaults, with their reasons), ``lowering``,
``lifting``, ``fill_ins`` (what libvirt fills in), ``checks`` (the semantic checks) and
``secrets`` (I/O limits, and the auth and encryption secrets, whose values come from
files or environment variables at apply time and never reach the spec's output nor the
XML).

The cloud-init seed cdrom is not a disk of the spec: lowering adds it after these
(vmspec/lower/devices.py), and import lifts it back as a volume cdrom.
"""

from __future__ import annotations

from vmspec.families.disk.checks import CHECKS
from vmspec.families.disk.fill_ins import as_libvirt_started_it, as_libvirt_stores_it
from vmspec.families.disk.lifting import lift
from vmspec.families.disk.lowering import lower
from vmspec.families.disk.policy import policy_defaults
from vmspec.families.disk.schema import SCHEMA
from vmspec.families.family import Family, Place

FAMILY = Family(
    spec_field="disks",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="disks",
    lower=lower,
    lift=lift,
    checks=CHECKS,
    policy_defaults=policy_defaults,
    libvirt_fills_in=as_libvirt_stores_it,
    libvirt_resolves_at_start=as_libvirt_started_it,
)
