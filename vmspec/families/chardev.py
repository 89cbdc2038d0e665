"""What ``<serial>``, ``<console>``, ``<channel>`` and ``<parallel>`` share: the
character device's host side, a tagged union on the device's ``type`` (formatdomain
"Consoles, serial, parallel & channel devices", "Host interface").

Each type has its own class, with the ``<source>`` that type takes: a pty's path is
QEMU's to allocate, a unix socket binds or connects, tcp and udp name a host and a
service, spiceport a SPICE channel, qemu-vdagent the clipboard and mouse. The device
families (serial.py, console.py, channel.py, parallel.py) add their ``<target>``.

In the spec a host side is a flat mapping keyed by ``type`` (``{type: tcp, host:
127.0.0.1, port: 4555, mode: bind}``): ``SOURCE_PROPERTIES`` is its schema, ``lower_host``
and ``lift_host`` translate it, ``host_problems`` checks which keys go with which type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import ON_OFF, YES_NO, attr, child, children, config_class, discriminator
from vmspec.families.family import PolicyDefault, Spec
from vmspec.problems import FieldPath, Finding


@config_class
class ChardevPath:
    """``<source path>``: a pty (allocated by QEMU at start), a host device, a pipe."""

    TAG: ClassVar[str] = "source"
    path: str | None = attr("path")


@config_class
class ChardevFile:
    TAG: ClassVar[str] = "source"
    path: str | None = attr("path")
    append: bool | None = attr("append", codec=ON_OFF)


@config_class
class Reconnect:
    """A connecting socket's retry after the other end went away (seconds)."""

    TAG: ClassVar[str] = "reconnect"
    enabled: bool | None = attr("enabled", codec=YES_NO)
    timeout: int | None = attr("timeout")


@config_class
class ChardevUnix:
    TAG: ClassVar[str] = "source"
    mode: str | None = attr("mode")  # bind: QEMU makes the socket; connect: someone else's
    path: str | None = attr("path")
    reconnect: Reconnect | None = child()


@config_class
class ChardevTcp:
    TAG: ClassVar[str] = "source"
    mode: str | None = attr("mode")
    host: str | None = attr("host")
    service: int | None = attr("service")
    tls: bool | None = attr("tls", codec=YES_NO)
    reconnect: Reconnect | None = child()


@config_class
class ChardevUdp:
    """One end of a udp chardev: where it sends (connect) or receives (bind)."""

    TAG: ClassVar[str] = "source"
    mode: str | None = attr("mode")
    host: str | None = attr("host")
    service: int | None = attr("service")


@config_class
class ChardevSpiceport:
    TAG: ClassVar[str] = "source"
    channel: str | None = attr("channel")


@config_class
class Clipboard:
    TAG: ClassVar[str] = "clipboard"
    copypaste: bool | None = attr("copypaste", codec=YES_NO)


@config_class
class MouseMode:
    TAG: ClassVar[str] = "mouse"
    mode: str | None = attr("mode")


@config_class
class ChardevVdagent:
    TAG: ClassVar[str] = "source"
    clipboard: Clipboard | None = child()
    mouse: MouseMode | None = child()


@config_class
class Protocol:
    TAG: ClassVar[str] = "protocol"
    type: str | None = attr("type")


@config_class
class ChardevLog:
    """QEMU copies what the guest writes into this file, whatever the host side is."""

    TAG: ClassVar[str] = "log"
    file: str | None = attr("file")
    append: bool | None = attr("append", codec=ON_OFF)


@config_class
class ChardevTarget:
    """The guest side: a serial port's UART (``type`` isa-serial, pci-serial...) and
    ``port``, a console's kind (serial, virtio, sclp), a channel's virtio ``name`` or
    the guest ``address`` and ``port`` a guestfwd channel answers on."""

    TAG: ClassVar[str] = "target"
    type: str | None = attr("type")
    address: str | None = attr("address")
    port: int | None = attr("port")
    name: str | None = attr("name")


@config_class
class Chardev:
    """What every type has, in libvirt's order: source(s), protocol (tcp), log, target.
    The types below override ``type`` with their discriminator and ``source`` with their
    own; this class is never a value itself. The tag is the field's that holds it."""

    TAG: ClassVar[str] = "serial"
    # A channel goes by its target's name, a serial port or console by its port.
    IDENTITY: ClassVar[tuple[str, ...]] = ("target/@name", "target/@port")
    type: str | None = attr("type")
    source: ChardevPath | None = child()
    log: ChardevLog | None = child()
    target: ChardevTarget | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


@config_class
class PtyChardev(Chardev):
    type: str = discriminator("type", "pty")


@config_class
class DevChardev(Chardev):
    type: str = discriminator("type", "dev")


@config_class
class PipeChardev(Chardev):
    type: str = discriminator("type", "pipe")


@config_class
class FileChardev(Chardev):
    type: str = discriminator("type", "file")
    source: ChardevFile | None = child()


@config_class
class UnixChardev(Chardev):
    type: str = discriminator("type", "unix")
    source: ChardevUnix | None = child()


@config_class
class TcpChardev:
    TAG: ClassVar[str] = "serial"
    IDENTITY: ClassVar[tuple[str, ...]] = Chardev.IDENTITY
    type: str = discriminator("type", "tcp")
    source: ChardevTcp | None = child()
    protocol: Protocol | None = child()
    log: ChardevLog | None = child()
    target: ChardevTarget | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


@config_class
class UdpChardev(Chardev):
    type: str = discriminator("type", "udp")
    source: tuple[ChardevUdp, ...] = children("source")  # type: ignore[assignment]


@config_class
class NullChardev(Chardev):
    type: str = discriminator("type", "null")


@config_class
class VcChardev(Chardev):
    type: str = discriminator("type", "vc")


@config_class
class StdioChardev(Chardev):
    type: str = discriminator("type", "stdio")


@config_class
class SpicevmcChardev(Chardev):
    type: str = discriminator("type", "spicevmc")


@config_class
class SpiceportChardev(Chardev):
    type: str = discriminator("type", "spiceport")
    source: ChardevSpiceport | None = child()  # type: ignore[assignment]


@config_class
class VdagentChardev(Chardev):
    type: str = discriminator("type", "qemu-vdagent")
    source: ChardevVdagent | None = child()  # type: ignore[assignment]


# dbus (libvirt 8.x, a D-Bus display's chardev) and nmdm (bhyve's) have no class: parsing
# reports them as uncovered, and import as what the spec cannot say.
AnyChardev = (
    PtyChardev
    | DevChardev
    | PipeChardev
    | FileChardev
    | UnixChardev
    | TcpChardev
    | UdpChardev
    | NullChardev
    | VcChardev
    | StdioChardev
    | SpicevmcChardev
    | SpiceportChardev
    | VdagentChardev
)

_VARIANTS = (
    PtyChardev,
    DevChardev,
    PipeChardev,
    FileChardev,
    UnixChardev,
    TcpChardev,
    UdpChardev,
    NullChardev,
    VcChardev,
    StdioChardev,
    SpicevmcChardev,
    SpiceportChardev,
    VdagentChardev,
)
# Each class by the value of its discriminator (its ``type`` field's default).
_CLASSES: dict[str, type] = {dataclasses.fields(cls)[0].default: cls for cls in _VARIANTS}

TYPES = tuple(_CLASSES)
"""The host sides the spec speaks, in the order formatdomain lists them."""

# --- the spec -----------------------------------------------------------------------------

# Which spec keys each type takes (besides type and log); the schema lists them all, and
# host_problems refuses one of another type.
KEYS: dict[str, tuple[str, ...]] = {
    "pty": (),
    "dev": ("path",),
    "pipe": ("path",),
    "file": ("path", "append"),
    "unix": ("path", "mode", "reconnect"),
    "tcp": ("host", "port", "mode", "protocol", "tls", "reconnect"),
    "udp": ("host", "port", "bindHost", "bindPort"),
    "null": (),
    "vc": (),
    "stdio": (),
    "spicevmc": (),
    "spiceport": ("channel",),
    "qemu-vdagent": ("clipboard", "mouse"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "dev": ("path",),
    "pipe": ("path",),
    "file": ("path",),
    "tcp": ("host", "port"),
    "udp": ("port",),  # to localhost without host
    "spiceport": ("channel",),
}

_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
_HOST = {
    "type": "string",
    "pattern": "^[A-Za-z0-9.:_-]+$",
    "description": "a host name or an IP address",
}

SOURCE_PROPERTIES: dict[str, Any] = {
    "type": {
        "enum": list(TYPES),
        "description": "the host side: pty (a /dev/pts device QEMU allocates), dev (a host device), pipe, file, unix or tcp (a socket), udp, null, vc, stdio, spicevmc or spiceport (through a SPICE client), qemu-vdagent (QEMU's own SPICE agent)",
    },
    "path": {
        "$ref": "#/$defs/absolutePath",
        "description": "dev, pipe, file: the host's file; unix: the socket (left out: libvirt picks one for a channel)",
    },
    "append": {
        "type": "boolean",
        "description": "file: append to the file instead of truncating it at start",
    },
    "mode": {
        "enum": ["bind", "connect"],
        "description": "unix, tcp: bind (QEMU listens) or connect (to someone else's socket); default: bind",
    },
    "host": {
        **_HOST,
        "description": "tcp: the address to listen on or connect to; udp: where to send (default: localhost)",
        "examples": ["127.0.0.1", "serial.example.net"],
    },
    "port": {
        **_PORT,
        "description": "tcp, udp: the service (port number) with host",
        "examples": [4555, 2445],
    },
    "bindHost": {
        **_HOST,
        "description": "udp: the local address to receive on",
        "examples": ["0.0.0.0", "127.0.0.1"],
    },
    "bindPort": {**_PORT, "description": "udp: the local port to receive on", "examples": [4556]},
    "protocol": {
        "enum": ["raw", "telnet", "telnets", "tls"],
        "description": "tcp: what runs over the connection; default raw",
    },
    "tls": {
        "type": "boolean",
        "description": "tcp: TLS with qemu.conf's chardev certificates (true) or not even where qemu.conf asks for it (false)",
    },
    "reconnect": {
        "type": "integer",
        "minimum": 1,
        "description": "unix, tcp in connect mode: seconds before connecting again after the other end went away",
        "examples": [10],
    },
    "channel": {
        "type": "string",
        "pattern": "^[A-Za-z0-9_.-]+$",
        "description": "spiceport: the SPICE port's name, such as org.qemu.console.serial.0",
        "examples": ["org.qemu.console.serial.0"],
    },
    "clipboard": {
        "type": "boolean",
        "description": "qemu-vdagent: share the clipboard with the SPICE client",
    },
    "mouse": {
        "enum": ["client", "server"],
        "description": "qemu-vdagent: client (the pointer follows the SPICE client's) or server",
    },
    "log": {
        "type": "object",
        "description": "a copy of what the guest writes, in a file on the host",
        "properties": {
            "file": {
                "$ref": "#/$defs/absolutePath",
                "description": "the host's file the copy goes to",
                "examples": ["/var/log/libvirt/qemu/web-01-serial0.log"],
            },
            "append": {"type": "boolean", "description": "append instead of truncating at start"},
        },
        "required": ["file"],
        "additionalProperties": False,
    },
}

DEFAULT_PROTOCOL = "raw"
PROTOCOL_REASON = "tcp: the bytes as they are, no telnet negotiation (libvirt's own default)"
DEFAULT_MODE = "bind"
MODE_REASON = "QEMU listens: the socket is then its own, there from the start"
DEFAULT_TYPE = "pty"
TYPE_REASON = "a pty, which libvirt allocates and virsh console attaches to"


def host_defaults(
    item: Spec, where: FieldPath, default: tuple[str, str] = (DEFAULT_TYPE, TYPE_REASON)
) -> Iterator[PolicyDefault]:
    """What ``lower_host`` writes where ``item`` (at ``where``) is silent; ``default``
    is the type it takes then, with why (a channel's is unix)."""
    if "type" not in item:
        yield PolicyDefault((*where, "type"), *default)
    kind = item.get("type", default[0])
    if "mode" not in item and (kind == "tcp" or (kind == "unix" and "path" in item)):
        yield PolicyDefault((*where, "mode"), DEFAULT_MODE, MODE_REASON)
    if "protocol" not in item and kind == "tcp":
        yield PolicyDefault((*where, "protocol"), DEFAULT_PROTOCOL, PROTOCOL_REASON)


def host_problems(item: Spec, where: FieldPath, what: str) -> Iterator[Finding]:
    """The keys ``item``'s type does not take, and the ones it needs; ``what`` names the
    device (``serial console``, ``channel``) in the messages."""
    kind = item.get("type", DEFAULT_TYPE)
    for key in REQUIRED.get(kind, ()):
        if key not in item:
            yield Finding(where, f"a {kind} {what} needs a {key}")
    for key in SOURCE_PROPERTIES:
        if key in ("type", "log") or key not in item or key in KEYS[kind]:
            continue
        if kind == "pty" and key == "path":
            yield Finding((*where, key), f"a pty {what} has no path (libvirt allocates the pty)")
            continue
        takers = [name for name, keys in KEYS.items() if key in keys]
        yield Finding(
            (*where, key),
            f"{key} is for a {' or '.join(takers)} {what}, not {kind}: remove it or change type",
        )
    if "reconnect" in item and item.get("mode", DEFAULT_MODE) != "connect":
        # libvirt: "chardev reconnect is possible only for connect mode".
        yield Finding((*where, "reconnect"), "reconnect needs mode: connect")
    if kind == "udp" and ("bindHost" in item) != ("bindPort" in item):
        yield Finding(where, "a udp receiving side needs both bindHost and bindPort")


# The host sides that travel over a SPICE client's connection.
SPICE_TYPES = ("spicevmc", "spiceport")


def spice_problems(
    item: Spec, where: FieldPath, what: str, spec: Spec, *, virtio_port: bool = False
) -> Iterator[Finding]:
    """spicevmc and spiceport need a SPICE display; spicevmc is a virtio port's alone
    (libvirt: "spicevmc device type only supports virtio")."""
    kind = item.get("type")
    if kind not in SPICE_TYPES:
        return
    if kind == "spicevmc" and not virtio_port:
        yield Finding((*where, "type"), f"a {what} cannot be spicevmc: that is a virtio channel's")
    if not any(display.get("type") == "spice" for display in spec.get("graphics", [])):
        yield Finding((*where, "type"), f"a {kind} {what} needs a spice display in graphics")


# --- lowering -----------------------------------------------------------------------------


def lower_host(item: Spec, target: ChardevTarget | None) -> Any:
    """The device of ``item``'s type, with ``target`` as its guest side."""
    kind = item.get("type", DEFAULT_TYPE)
    log = item.get("log")
    common: dict[str, Any] = {
        "target": target,
        "log": ChardevLog(file=log["file"], append=log.get("append")) if log else None,
    }
    source = _lower_source(kind, item)
    if kind == "tcp":
        common["protocol"] = Protocol(type=item.get("protocol", DEFAULT_PROTOCOL))
    return _CLASSES[kind](**({"source": source} if source is not None else {}), **common)


def _reconnect(item: Spec) -> Reconnect | None:
    seconds = item.get("reconnect")
    return Reconnect(enabled=True, timeout=seconds) if seconds else None


def _lower_source(kind: str, item: Spec) -> Any:
    if kind in ("dev", "pipe"):
        return ChardevPath(path=item["path"])
    if kind == "file":
        return ChardevFile(path=item["path"], append=item.get("append"))
    if kind == "unix":
        path = item.get("path")
        mode = item.get("mode", DEFAULT_MODE)
        if path is None and mode == DEFAULT_MODE:
            return None  # a channel's socket where libvirt chooses
        return ChardevUnix(mode=mode, path=path, reconnect=_reconnect(item))
    if kind == "tcp":
        return ChardevTcp(
            mode=item.get("mode", DEFAULT_MODE),
            host=item["host"],
            service=item["port"],
            tls=item.get("tls"),
            reconnect=_reconnect(item),
        )
    if kind == "udp":
        ends = []
        if "bindHost" in item:
            ends.append(ChardevUdp(mode="bind", host=item["bindHost"], service=item["bindPort"]))
        ends.append(ChardevUdp(mode="connect", host=item.get("host"), service=item["port"]))
        return tuple(ends)
    if kind == "spiceport":
        return ChardevSpiceport(channel=item["channel"])
    if kind == "qemu-vdagent" and ("clipboard" in item or "mouse" in item):
        clipboard = item.get("clipboard")
        mouse = item.get("mouse")
        return ChardevVdagent(
            clipboard=Clipboard(copypaste=clipboard) if clipboard is not None else None,
            mouse=MouseMode(mode=mouse) if mouse else None,
        )
    return None


# --- lifting ------------------------------------------------------------------------------


def lift_host(device: Any) -> Spec | None:
    """The spec's flat mapping of a device's host side (without its target), or None
    where the spec has no word for it; what it leaves out the lift's self-check names."""
    kind = device.type
    if kind not in _CLASSES or not isinstance(device, _CLASSES[kind]):
        return None
    lifted: Spec = {"type": kind}
    source = device.source
    if isinstance(source, ChardevPath) and kind != "pty":
        lifted["path"] = source.path
    elif isinstance(source, ChardevFile):
        lifted.update(path=source.path, append=source.append)
    elif isinstance(source, ChardevUnix):
        lifted["path"] = source.path
        if source.mode != DEFAULT_MODE:
            lifted["mode"] = source.mode
        lifted["reconnect"] = _lift_reconnect(source.reconnect)
    elif isinstance(source, ChardevTcp):
        lifted.update(host=source.host, port=source.service, tls=source.tls)
        if source.mode != DEFAULT_MODE:
            lifted["mode"] = source.mode
        lifted["reconnect"] = _lift_reconnect(source.reconnect)
    elif isinstance(source, tuple):
        _lift_udp(source, lifted)
    elif isinstance(source, ChardevSpiceport):
        lifted["channel"] = source.channel
    elif isinstance(source, ChardevVdagent):
        lifted["clipboard"] = source.clipboard.copypaste if source.clipboard else None
        lifted["mouse"] = source.mouse.mode if source.mouse else None
    protocol = getattr(device, "protocol", None)
    if protocol is not None and protocol.type and protocol.type != DEFAULT_PROTOCOL:
        lifted["protocol"] = protocol.type
    if device.log is not None and device.log.file:
        log = {"file": device.log.file, "append": device.log.append}
        lifted["log"] = {key: value for key, value in log.items() if value is not None}
    return {key: value for key, value in lifted.items() if value is not None}


def _lift_reconnect(reconnect: Reconnect | None) -> int | None:
    return reconnect.timeout if reconnect and reconnect.enabled else None


def _lift_udp(ends: tuple[ChardevUdp, ...], lifted: Spec) -> None:
    for end in ends:
        if end.mode == "bind":
            lifted.update(bindHost=end.host, bindPort=end.service)
        else:
            lifted.update(host=end.host, port=end.service)


# --- what libvirt fills in ----------------------------------------------------------------


def as_libvirt_stores_it(device: Any) -> Any:
    """libvirt 9.0 on define: a unix socket that binds where libvirt chooses is stored as
    ``<source mode='bind'/>`` (no path), which is vmspec's unix device without a source;
    a tcp source without mode is connect, and ``protocol`` raw is tcp's default."""
    source = device.source
    if isinstance(source, ChardevUnix) and source == ChardevUnix(mode=DEFAULT_MODE):
        return dataclasses.replace(device, source=None)
    if isinstance(device, TcpChardev):
        mode = source.mode if source and source.mode else "connect"
        source = dataclasses.replace(source, mode=mode) if source else None
        protocol = device.protocol or Protocol(type=DEFAULT_PROTOCOL)
        return dataclasses.replace(device, source=source, protocol=protocol)
    return device


def without_allocated_path(device: Any, wanted: Any) -> Any:
    """What a running guest's device has that libvirt allocates at start, where the
    wanted one leaves it to libvirt: the /dev/pts device QEMU opened for a pty, the
    socket libvirt made for a unix device without path (a virtio channel's); the next
    start allocates them again."""
    if isinstance(device, PtyChardev):
        return dataclasses.replace(device, source=None)
    source = device.source
    if (
        isinstance(device, UnixChardev)
        and isinstance(wanted, UnixChardev)
        and wanted.source is None
        and source is not None
        and source.mode == DEFAULT_MODE
    ):
        return dataclasses.replace(device, source=None)
    return device


def as_stored(live: tuple[Any, ...], wanted: tuple[Any, ...]) -> tuple[Any, ...]:
    """``as_libvirt_stores_it`` for each device of a family's list."""
    return tuple(as_libvirt_stores_it(device) for device in live)


def as_stored_in_order(live: tuple[Any, ...], wanted: tuple[Any, ...]) -> tuple[Any, ...]:
    """``as_stored`` for ports in order (serial, parallel, console): libvirt numbers a
    port that names none after the ones before it."""
    stored = []
    for index, device in enumerate(as_stored(live, wanted)):
        target = device.target or ChardevTarget()
        if target.port is None:
            device = dataclasses.replace(device, target=dataclasses.replace(target, port=index))
        stored.append(device)
    return tuple(stored)


def each_against_wanted(live: tuple[Any, ...], wanted: tuple[Any, ...]) -> tuple[Any, ...]:
    """Each running device without what libvirt allocated at start, paired with the
    wanted device in the same place (ports and consoles are in order)."""
    return tuple(
        without_allocated_path(device, wanted[index] if index < len(wanted) else None)
        for index, device in enumerate(live)
    )
