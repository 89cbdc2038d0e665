"""Carry out a plan, domain by domain, printing what was done.

Every step is idempotent (define the same XML, start what is not running, set
autostart), so a rerun after any failure converges, and two applies of the same
specs at once end in the same place. A domain is updated in place: defined again
with the same name and uuid, never undefined, so NVRAM, snapshots and autostart
survive.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import libvirt
from lxml import etree

from vmspec.compare.model import (
    NOT_CONVERGING,
    Action,
    ChangeClass,
    Kind,
    LiveDomain,
    Options,
    Plan,
    ResourcePlan,
)
from vmspec.emit import domain_xml
from vmspec.families.disk.secrets import ManagedSecret
from vmspec.families.tpm import TpmEmulator
from vmspec.host.connection import Host
from vmspec.host.errors import HostError
from vmspec.host.graph import key_noun
from vmspec.host.preserve import with_live_allocations
from vmspec.host.secrets import (
    disk_secret_xml,
    disk_secrets_defined_for,
    read_disk_secret,
    read_password,
    with_passwords,
)
from vmspec.host.volumes import apply_volume

Report = Callable[[str], None]
# Called with each resource apply took up once it is through with it (applied, failed or
# blocked): what a progress bar counts.
ResourceDone = Callable[[ResourcePlan], None]
SHUTDOWN_TIMEOUT_SECONDS = 120.0
NESTED_START_HINT = (
    "this host is itself a VM, where host-model and host-passthrough CPUs fail to start: "
    "leave spec.cpu out or set cpu: {mode: none}"
)


def resources_to_apply(plan: Plan) -> list[ResourcePlan]:
    """The resources apply takes up, in order: those with changes it may make."""
    return [
        resource_plan
        for resource_plan in plan.resources
        if resource_plan.action not in NOT_CONVERGING and resource_plan.has_changes
    ]


def apply_plan(
    host: Host,
    plan: Plan,
    options: Options,
    report: Report,
    *,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS,
    done: ResourceDone = lambda _resource_plan: None,
) -> list[HostError]:
    """Apply every resource's plan in the plan's order (pools and networks, volumes,
    domains; deletions in reverse). A failure stops that resource and blocks every
    resource that needs it; refused and blocked ones are never touched. Returns the
    failures, blocked resources included."""
    failures: list[HostError] = []
    failed: dict[str, str] = {}
    for resource_plan in resources_to_apply(plan):
        failure = _apply_resource(
            host, plan, resource_plan, options, report, failed, shutdown_timeout
        )
        if failure is not None:
            failures.append(failure)
        done(resource_plan)
    return failures


def _apply_resource(
    host: Host,
    plan: Plan,
    resource_plan: ResourcePlan,
    options: Options,
    report: Report,
    failed: dict[str, str],
    shutdown_timeout: float,
) -> HostError | None:
    """One resource applied; or the error it failed or was blocked with, which ``failed``
    (plan key → "failed" or "is blocked") then holds for the resources that need it."""
    cause = next((need for need in resource_plan.needs if need in failed), None)
    if cause is not None:
        error = HostError(
            "applying",
            f"blocked: it needs the {key_noun(cause)}, which {failed[cause]}",
            f"{resource_plan.kind} {resource_plan.name}"
            if resource_plan.kind != Kind.DOMAIN
            else resource_plan.name,
        )
        failed[resource_plan.key] = "is blocked"
        report(f"! {error}")
        return error
    try:
        if resource_plan.kind == Kind.DOMAIN:
            if resource_plan.known_after_apply and resource_plan.recheck is not None:
                resource_plan.recheck(host)
            DomainApplier(
                host, resource_plan, options, report, shutdown_timeout, plan.facts.nested
            ).run()
        elif resource_plan.kind == Kind.VOLUME:
            report(f"  volume {resource_plan.name}: {apply_volume(host, resource_plan)}")
        else:
            _apply_pool_or_network(host, resource_plan, report)
    except HostError as error:
        failed[resource_plan.key] = "failed"
        report(f"! {error}")
        return error
    return None


def _apply_pool_or_network(host: Host, plan: ResourcePlan, report: Report) -> None:
    kind, name = plan.kind, plan.name
    noun = "storage pool" if kind == Kind.POOL else "network"
    lookup = "storagePoolLookupByName" if kind == Kind.POOL else "networkLookupByName"

    def on_it(action):
        return lambda connection: action(getattr(connection, lookup)(name))

    if plan.action == Action.DELETE:
        if host.call(f"reading the {noun}", name, on_it(lambda h: h.isActive())):
            host.call(f"stopping the {noun}", name, on_it(lambda h: h.destroy()))
        host.call(f"deleting the {noun}", name, on_it(lambda h: h.undefine()))
        report(f"  {kind} {name}: deleted")
        return
    if plan.action in (Action.CREATE, Action.UPDATE):
        if kind == Kind.POOL:
            host.call(
                f"defining the {noun}", name, lambda c: c.storagePoolDefineXML(plan.xml.decode(), 0)
            )
        else:
            host.call(f"defining the {noun}", name, lambda c: c.networkDefineXML(plan.xml.decode()))
        report(f"  {kind} {name}: {'created' if plan.action == Action.CREATE else 'updated'}")
    if plan.state and plan.state[1] == "running":
        if host.call(f"reading the {noun}", name, on_it(lambda h: h.isActive())):
            report(f"  {kind} {name}: running (started meanwhile by another apply)")
        elif kind == Kind.POOL:
            _start_pool(host, name, plan)
            report(f"  {kind} {name}: started")
        else:
            _start_network(host, name, on_it)
            report(f"  {kind} {name}: started")
    if plan.autostart:
        wanted = plan.autostart[1]
        host.call(
            f"setting the {noun}'s autostart", name, on_it(lambda h: h.setAutostart(int(wanted)))
        )
        report(f"  {kind} {name}: autostart {'on' if wanted else 'off'}")


def _start_network(host: Host, name: str, on_it) -> None:
    try:
        host.call("starting the network", name, on_it(lambda h: h.create()))
    except HostError:
        # Two applies at once: the other one started it first. Running is the goal.
        if not host.call("reading the network", name, on_it(lambda h: h.isActive())):
            raise


def _start_pool(host: Host, name: str, plan: ResourcePlan) -> None:
    """Start a pool; if it cannot start because it does not exist yet (no directory, no
    volume group), build it without overwriting anything, and start it again."""
    on_pool = lambda action: lambda c: action(c.storagePoolLookupByName(name))  # noqa: E731
    try:
        host.call("starting the storage pool", name, on_pool(lambda p: p.create(0)))
        return
    except HostError:
        if host.call("reading the storage pool", name, on_pool(lambda p: p.isActive())):
            return  # started meanwhile by another apply: the goal is met
    try:
        # A directory is only made; a volume group is made on its devices only when they
        # hold nothing (NO_OVERWRITE), so an existing file system is never formatted.
        is_logical = plan.xml is not None and etree.fromstring(plan.xml).get("type") == "logical"
        flags = libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE if is_logical else 0
        host.call("building the storage pool", name, on_pool(lambda p: p.build(flags)))
        host.call("starting the storage pool", name, on_pool(lambda p: p.create(0)))
    except HostError as error:
        if host.call("reading the storage pool", name, on_pool(lambda p: p.isActive())):
            return  # another apply built and started it while this one tried
        raise HostError(error.operation, error.message, f"pool {name}", _pool_hint(plan)) from None


def _pool_hint(plan: ResourcePlan) -> str | None:
    """What usually failed: for NFS the server, for LVM a device that already holds data."""
    xml = etree.fromstring(plan.xml) if plan.xml else None
    if xml is None:
        return None
    if xml.get("type") == "netfs":
        server = xml.find("source/host").get("name")
        return f"is the NFS export {server}:{xml.find('source/dir').get('path')} reachable and mountable here?"
    if xml.get("type") == "logical":
        devices = ", ".join(device.get("path") for device in xml.iterfind("source/device"))
        return (
            f"vmspec makes a volume group only on devices that hold nothing ({devices}); "
            "it never formats one that holds data: check what is on it"
        )
    return None


class DomainApplier:
    def __init__(
        self,
        host: Host,
        plan: ResourcePlan,
        options: Options,
        report: Report,
        shutdown_timeout: float,
        nested_host: bool,
    ):
        self.host, self.plan, self.options, self.report = host, plan, options, report
        self.shutdown_timeout = shutdown_timeout
        self.nested_host = nested_host
        self.name = plan.name

    def run(self) -> None:
        action = self.plan.action
        if action == Action.DELETE:
            self._delete()
            return
        if action in (Action.CREATE, Action.UPDATE, Action.ADOPT):
            self._define()
        try:
            self._converge_state()
        except HostError:
            if action == Action.CREATE:
                self._roll_back_creation()
            raise

    def _converge_state(self) -> None:
        if self.plan.autostart:
            wanted = self.plan.autostart[1]
            self._call("setting autostart", lambda d: d.setAutostart(int(wanted)))
            self.report(f"  {self.name}: autostart {'on' if wanted else 'off'}")
        if self.options.live and self._is_active():
            self._hotplug()
        if self.plan.restart == "planned":
            self.stop(reason="restart")
            self._start()
        elif self.plan.state:
            (self._start if self.plan.state[1] == "running" else self.stop)()

    def _roll_back_creation(self) -> None:
        """A domain this apply created but could not start is undefined again, so a failed
        apply leaves the host as it found it (a rerun tries afresh)."""
        try:
            if self._is_active():
                self._call("powering off", lambda d: d.destroy())
            self._call("undefining after the failed start", lambda d: d.undefine())
            self.report(f"  {self.name}: undefined again, since it could not start")
        except HostError as error:
            self.report(f"! {error}")

    def _define(self) -> None:
        planned = domain = self.plan.domain
        live = self.plan.live.domain if self.plan.live is not None else None
        if live is not None:
            domain = with_live_allocations(domain, live)
        sources = self.plan.desired.passwords if self.plan.desired else ()
        domain = with_passwords(
            domain, {source.graphics_type: read_password(source, self.name) for source in sources}
        )
        # The marker's hash stays the planned domain's: what the spec asked for.
        xml = domain_xml(domain, hash_of=planned)
        wanted_secrets = self.plan.desired.secrets if self.plan.desired else ()
        for secret in wanted_secrets:
            self._define_secret(secret)
        defined = self.host.call("defining", self.name, lambda c: c.defineXML(xml.decode()))
        verb = {Action.CREATE: "created", Action.UPDATE: "updated", Action.ADOPT: "adopted"}[
            self.plan.action
        ]
        self.report(f"  {self.name}: {verb}")
        self._remove_disk_secrets(defined.UUIDString(), {s.uuid for s in wanted_secrets})

    def _define_secret(self, secret: ManagedSecret) -> None:
        """The libvirt secret a disk's auth or encryption names, defined (or redefined) and
        given its value before the domain that needs it; the report names it, never the value."""
        value = read_disk_secret(secret)
        operation = f"defining the secret of disk {secret.target}'s {secret.purpose}"
        defined = self.host.call(
            operation, self.name, lambda c: c.secretDefineXML(disk_secret_xml(secret))
        )
        self.host.call(operation, self.name, lambda c: defined.setValue(value.encode()))
        self.report(
            f"  {self.name}: secret {secret.uuid} ({secret.purpose} of {secret.target}) set"
        )

    def _hotplug(self) -> None:
        """Disks and NICs added or removed: attach or detach them on the running guest too
        (the definition already has them from define). The device XML is the plan's, in
        which a secret reads SECRET: no hot-pluggable device has one (displays are not)."""
        for change in self.plan.changes:
            if change.change_class != ChangeClass.LIVE:
                continue
            if change.after is not None:
                self._call(
                    f"attaching {change.path}",
                    lambda d, x=change.after: d.attachDeviceFlags(
                        x, libvirt.VIR_DOMAIN_AFFECT_LIVE
                    ),
                )
                self.report(f"  {self.name}: attached {change.path} to the running guest")
            else:
                self._call(
                    f"detaching {change.path}",
                    lambda d, x=change.before: d.detachDeviceFlags(
                        x, libvirt.VIR_DOMAIN_AFFECT_LIVE
                    ),
                )
                self.report(f"  {self.name}: detached {change.path} from the running guest")

    def _start(self) -> None:
        if self._is_active():
            return  # started meanwhile (by a concurrent apply, say): the goal is met
        try:
            self._call("starting", lambda d: d.create())
        except HostError as error:
            if "already running" in error.message or "is already active" in error.message:
                # Started meanwhile: by this very call before a reconnect, or by another apply.
                self.report(f"  {self.name}: running")
                return
            if self.nested_host and _asks_for_host_cpu(self.plan):
                error.hint = NESTED_START_HINT
            raise HostError(error.operation, error.message, self.name, error.hint) from None
        self.report(f"  {self.name}: started")

    def stop(self, reason: str = "the spec's state: stopped") -> None:

        if not self._is_active():
            return
        self._call("shutting down", lambda d: d.shutdown())
        deadline = time.monotonic() + self.shutdown_timeout
        while time.monotonic() < deadline:
            if not self._is_active():
                self.report(f"  {self.name}: shut down for {reason}")
                return
            time.sleep(0.5)
        if not self.options.force:
            raise HostError(
                "shutting down",
                f"the guest did not shut down within {self.shutdown_timeout:g} s",
                self.name,
                "add --force to power it off",
            )
        self._call("powering off", lambda d: d.destroy())
        self.report(f"  {self.name}: powered off for {reason} (--force)")

    def _delete(self) -> None:
        if self._is_active():
            self._call("powering off", lambda d: d.destroy())
        # Keep NVRAM and an emulated TPM's state (BitLocker's sealed keys live there) and
        # never touch storage: delete removes the definition only. Flags are passed only
        # where they matter, since some drivers (test) refuse ones they lack.
        flags = 0
        if self.plan.live is not None and "<nvram" in self.plan.live.xml:
            flags |= libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
        if self.plan.live is not None and _has_emulated_tpm(self.plan.live):
            flags |= libvirt.VIR_DOMAIN_UNDEFINE_KEEP_TPM
        if self._call("counting snapshots", lambda d: d.snapshotNum()):
            flags |= libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        domain_uuid = self._call("reading the uuid", lambda d: d.UUIDString())
        self._call("deleting", lambda d: d.undefineFlags(flags))
        self.report(f"  {self.name}: deleted (disks kept)")
        self._remove_disk_secrets(domain_uuid, keep=set())

    def _remove_disk_secrets(self, domain_uuid: str, keep: set[str]) -> None:
        """The secrets apply defined for disks of this VM that the spec no longer names (or
        all of them, once the VM is deleted): a key libvirt keeps for no domain is a key
        lying around. Its value stays where the spec read it from."""
        live = self.plan.live
        if live is None or "<secret " not in live.xml:
            return  # the domain named no secret before this apply: none of its can be left
        secrets = self.host.call("listing secrets", self.name, lambda c: c.listAllSecrets(0))
        for purpose, secret in disk_secrets_defined_for(secrets, self.name, domain_uuid):
            uuid = secret.UUIDString()
            if uuid in keep:
                continue
            self.host.call(
                f"removing the secret of {purpose}", self.name, lambda c, s=secret: s.undefine()
            )
            self.report(f"  {self.name}: secret {uuid} ({purpose}) removed")

    def _is_active(self) -> bool:
        return bool(self._call("reading the state", lambda d: d.isActive()))

    def _call(self, operation: str, action: Callable[[libvirt.virDomain], object]) -> object:
        return self.host.call(operation, self.name, lambda c: action(c.lookupByName(self.name)))


def _has_emulated_tpm(live: LiveDomain) -> bool:
    devices = live.domain.devices if live.domain else None
    return devices is not None and any(isinstance(tpm.backend, TpmEmulator) for tpm in devices.tpms)


def _asks_for_host_cpu(plan: ResourcePlan) -> bool:
    cpu = plan.desired.domain.cpu if plan.desired else None
    return cpu is not None and cpu.mode in ("host-model", "host-passthrough")
