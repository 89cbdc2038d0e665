"""``<graphics>``: the displays through which a person sees the guest's screen and uses
its keyboard and mouse (formatdomain "Graphical framebuffers"): VNC and SPICE, reached
over the network or a UNIX socket, and the local ones (sdl, egl-headless, dbus).

A display's password never goes into the spec nor into compiled XML: plan and apply
read it from ``passwordFile`` or ``passwordEnv`` and put it into the XML that libvirt
defines (vmspec.host.secrets); libvirt shows it only to VIR_DOMAIN_XML_SECURE, which
vmspec never asks for, so a password in a live domain is no difference and import
reports it as what the spec cannot say.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.addresses import is_ip_address_libvirt_takes
from vmspec.config.xmlmap import ON_OFF, attr, child, children, config_class
from vmspec.families.audio import AudioLink
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import FieldPath, Finding


@config_class
class GraphicsListen:
    TAG: ClassVar[str] = "listen"
    type: str | None = attr("type")
    address: str | None = attr("address")
    network: str | None = attr("network")
    socket: str | None = attr("socket")


@config_class
class SpiceChannel:
    """Whether one SPICE channel must (secure) or must not (insecure) use TLS."""

    TAG: ClassVar[str] = "channel"
    name: str | None = attr("name")
    mode: str | None = attr("mode")


@config_class
class GraphicsCompression:
    """SPICE's ``<image>``, ``<jpeg>`` and ``<zlib>``: how screen updates are compressed."""

    TAG: ClassVar[str] = "image"
    compression: str | None = attr("compression")


@config_class
class GraphicsPlayback:
    TAG: ClassVar[str] = "playback"
    compression: bool | None = attr("compression", codec=ON_OFF)


@config_class
class GraphicsStreaming:
    """SPICE's video stream detection."""

    TAG: ClassVar[str] = "streaming"
    mode: str | None = attr("mode")


@config_class
class GraphicsMouse:
    TAG: ClassVar[str] = "mouse"
    mode: str | None = attr("mode")


@config_class
class GraphicsClipboard:
    TAG: ClassVar[str] = "clipboard"
    copypaste: bool | None = attr("copypaste")


@config_class
class GraphicsFiletransfer:
    TAG: ClassVar[str] = "filetransfer"
    enable: bool | None = attr("enable")


@config_class
class GraphicsGl:
    """OpenGL: rendered on the host's GPU (``rendernode``, a /dev/dri device)."""

    TAG: ClassVar[str] = "gl"
    enable: bool | None = attr("enable")
    rendernode: str | None = attr("rendernode")


@config_class
class Graphics:
    """One class for all types: libvirt writes each type's attributes in this order, and
    the semantic checks keep each type to its own."""

    TAG: ClassVar[str] = "graphics"
    type: str | None = attr("type")
    socket: str | None = attr("socket")  # vnc: the socket of its socket listen, mirrored
    port: int | None = attr("port")
    tls_port: int | None = attr("tlsPort")  # spice
    autoport: bool | None = attr("autoport")
    websocket: int | None = attr("websocket")  # vnc
    listen: str | None = attr("listen")  # the first listen's address, mirrored
    keymap: str | None = attr("keymap")
    share_policy: str | None = attr("sharePolicy")  # vnc
    power_control: bool | None = attr("powerControl")  # vnc
    default_mode: str | None = attr("defaultMode")  # spice
    # Set by apply alone, from passwordFile or passwordEnv (vmspec/host/secrets.py); lowering
    # never does, libvirt never shows it to vmspec, and nothing shows it to a person.
    passwd: str | None = attr("passwd", secret=True)  # vnc, spice
    display: str | None = attr("display")  # sdl
    xauth: str | None = attr("xauth")  # sdl
    fullscreen: bool | None = attr("fullscreen")  # sdl
    p2p: bool | None = attr("p2p")  # dbus
    address: str | None = attr("address")  # dbus
    listens: tuple[GraphicsListen, ...] = children()
    channels: tuple[SpiceChannel, ...] = children()
    image: GraphicsCompression | None = child()
    jpeg: GraphicsCompression | None = child("jpeg")
    zlib: GraphicsCompression | None = child("zlib")
    playback: GraphicsPlayback | None = child()
    streaming: GraphicsStreaming | None = child()
    mouse: GraphicsMouse | None = child()
    clipboard: GraphicsClipboard | None = child()
    filetransfer: GraphicsFiletransfer | None = child()
    gl: GraphicsGl | None = child()
    audio: AudioLink | None = child()  # vnc, dbus


# --- the vocabulary, by type -----------------------------------------------------------------

REMOTE = ("vnc", "spice")  # reached over the network or a socket; the others are local
# libvirt's order of SPICE channels, in which it writes them.
SPICE_CHANNELS = (
    "main",
    "display",
    "inputs",
    "cursor",
    "playback",
    "record",
    "smartcard",
    "usbredir",
)
# SPICE's compression and client settings: spec key → (element, attribute).
SPICE_SETTINGS = {
    "image": ("image", "compression"),
    "jpeg": ("jpeg", "compression"),
    "zlib": ("zlib", "compression"),
    "playback": ("playback", "compression"),
    "streaming": ("streaming", "mode"),
    "mouse": ("mouse", "mode"),
    "clipboard": ("clipboard", "copypaste"),
    "fileTransfer": ("filetransfer", "enable"),
}
_SETTING_CLASSES = {
    "image": GraphicsCompression,
    "jpeg": GraphicsCompression,
    "zlib": GraphicsCompression,
    "playback": GraphicsPlayback,
    "streaming": GraphicsStreaming,
    "mouse": GraphicsMouse,
    "clipboard": GraphicsClipboard,
    "fileTransfer": GraphicsFiletransfer,
}
# Which spec keys each type takes (type itself aside).
TYPE_KEYS = {
    "vnc": {
        "listen",
        "socket",
        "listenNetwork",
        "port",
        "websocket",
        "keymap",
        "sharePolicy",
        "powerControl",
        "passwordFile",
        "passwordEnv",
        "audio",
    },
    "spice": {
        "listen",
        "socket",
        "listenNetwork",
        "port",
        "tlsPort",
        "keymap",
        "defaultMode",
        "passwordFile",
        "passwordEnv",
        "channels",
        "gl",
        *SPICE_SETTINGS,
    },
    "sdl": {"display", "xauth", "fullscreen", "gl"},
    "egl-headless": {"gl"},
    "dbus": {"address", "p2p", "gl", "audio"},
}
# listen values that are not an address: no listener at all, or a socket libvirt makes.
LISTEN_NONE = "none"
LISTEN_SOCKET = "socket"

_COMPRESSION = {"enum": ["auto", "never", "always"]}
# any, libvirt's default, is what no mode says (libvirt drops it on define).
_CHANNEL_MODE = {"enum": ["secure", "insecure"]}


def _setting(
    name: str, value_schema: dict[str, Any], description: str, value_description: str
) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"SPICE only: {description}",
        "properties": {name: {**value_schema, "description": value_description}},
        "required": [name],
        "additionalProperties": False,
    }


ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {
            "enum": ["vnc", "spice", "sdl", "egl-headless", "dbus"],
            "description": "vnc and spice are reached over the network or a socket; sdl opens a window on the host's X display, egl-headless renders OpenGL for another display, dbus exports the display on D-Bus",
        },
        "listen": {
            "type": "string",
            "maxLength": 45,
            "description": f"an IP address to listen on; {LISTEN_NONE}: no listener at all (SPICE with OpenGL); {LISTEN_SOCKET}: a UNIX socket libvirt makes; default: qemu.conf's address",
        },
        "socket": {
            "$ref": "#/$defs/absolutePath",
            "description": "listen on this UNIX socket instead of an address",
        },
        "listenNetwork": {
            "type": "string",
            "pattern": "^[^/\\r\\n]+$",
            "maxLength": 64,
            "description": "listen on the address of this libvirt network (resolved when the guest starts)",
        },
        "port": {
            "type": "integer",
            "minimum": 5900,
            "maximum": 65535,
            "description": "vnc, spice: the TCP port the display listens on (VNC display port - 5900); default: libvirt picks a free one at each start (autoport)",
        },
        "tlsPort": {
            "type": "integer",
            "minimum": 5900,
            "maximum": 65535,
            "description": "spice: the TLS port (qemu.conf's spice_tls must be on)",
            "examples": [5901],
        },
        "websocket": {
            "type": "integer",
            "minimum": -1,
            "maximum": 65535,
            "not": {"const": 0},
            "description": "vnc: a WebSocket port for noVNC; -1: libvirt picks one",
        },
        "keymap": {
            "type": "string",
            "pattern": "^[a-z]{2}(-[a-z]+)*$",
            "maxLength": 16,
            "description": "the keyboard layout QEMU translates for (en-us, de, fr-ch); better left to the client",
            "examples": ["en-us", "de", "fr-ch"],
        },
        "sharePolicy": {
            "enum": ["allow-exclusive", "force-shared", "ignore"],
            "description": "vnc: how clients share the display: a client may ask for it alone (allow-exclusive), all share it (force-shared), or QEMU heeds no request (ignore); default: QEMU's, allow-exclusive",
        },
        "powerControl": {
            "type": "boolean",
            "description": "vnc: let the client shut down, reboot or reset the guest",
        },
        "defaultMode": {
            **_CHANNEL_MODE,
            "description": "spice: whether channels use TLS (secure) or not, unless channels say otherwise; default: either, as the client asks",
        },
        "channels": {
            "type": "object",
            "description": "spice: TLS per channel (secure needs qemu.conf's spice_tls)",
            "propertyNames": {"enum": list(SPICE_CHANNELS)},
            "additionalProperties": _CHANNEL_MODE,
        },
        "image": _setting(
            "compression",
            {"enum": ["auto_glz", "auto_lz", "quic", "glz", "lz", "off"]},
            "how screen images are compressed; off suits a client on the same LAN",
            "the image compression (<image compression>): glz and lz are dictionary methods, quic suits photos, auto_* picks per image; default: QEMU's, auto_glz",
        ),
        "jpeg": _setting(
            "compression",
            _COMPRESSION,
            "JPEG compression of images on a WAN",
            "when images are JPEG-compressed (<jpeg compression>): auto (on a slow link), never or always",
        ),
        "zlib": _setting(
            "compression",
            _COMPRESSION,
            "zlib compression of images on a WAN",
            "when images are zlib-compressed (<zlib compression>): auto (on a slow link), never or always",
        ),
        "playback": _setting(
            "compression",
            {"type": "boolean"},
            "compressed sound",
            "true: the guest's sound is sent compressed (CELT/Opus) (<playback compression='on'>)",
        ),
        "streaming": _setting(
            "mode",
            {"enum": ["filter", "all", "off"]},
            "which screen areas are sent as video",
            "which areas that change quickly are sent as a video stream: those SPICE detects as video (filter), all, or none (off)",
        ),
        "mouse": _setting(
            "mode",
            {"enum": ["server", "client"]},
            "whose pointer the guest follows",
            "client: the guest's pointer follows the client's (needs the agent or a tablet); server: the guest moves its own pointer, grabbed by the client; default: QEMU's, client where it can",
        ),
        "clipboard": _setting(
            "copypaste",
            {"type": "boolean"},
            "copy and paste with the client",
            "false: no copy and paste between the guest and the client (through the SPICE agent); default: true",
        ),
        "fileTransfer": _setting(
            "enable",
            {"type": "boolean"},
            "files dropped from the client",
            "false: the client may not drop files into the guest (through the SPICE agent); default: true",
        ),
        "gl": {
            "type": "object",
            "description": "OpenGL on the host's GPU (a virtio video with accel3d uses it)",
            "properties": {
                "enable": {"type": "boolean", "description": "spice, sdl, dbus"},
                "rendernode": {
                    "$ref": "#/$defs/absolutePath",
                    "description": "spice, egl-headless, dbus: the host's render device, such as /dev/dri/renderD128",
                    "examples": ["/dev/dri/renderD128"],
                },
            },
            "additionalProperties": False,
        },
        "display": {
            "type": "string",
            "pattern": "^[A-Za-z0-9.:_-]*:[0-9]+(\\.[0-9]+)?$",
            "maxLength": 64,
            "description": "sdl: the X display, such as :0",
            "examples": [":0", ":1.0"],
        },
        "xauth": {
            "$ref": "#/$defs/absolutePath",
            "description": "sdl: the X authority file",
            "examples": ["/home/user/.Xauthority"],
        },
        "fullscreen": {"type": "boolean", "description": "sdl"},
        "address": {
            "type": "string",
            "pattern": "^[a-z]+:[^\\s]+$",
            "maxLength": 1024,
            "description": "dbus: the bus address, such as unix:path=/run/bus.sock; default: a bus libvirt starts",
            "examples": ["unix:path=/run/bus.sock"],
        },
        "p2p": {"type": "boolean", "description": "dbus: peer-to-peer, without a bus"},
        "audio": {
            "type": "integer",
            "minimum": 1,
            "maximum": 255,
            "description": "vnc, dbus: the id of the audio backend the display carries",
            "examples": [1],
        },
        "passwordFile": {
            "$ref": "#/$defs/absolutePath",
            "description": "a file holding the display password (read by plan/apply, never compiled into XML)",
            "examples": ["/etc/vmspec/secrets/web-01-vnc"],
        },
        "passwordEnv": {
            "type": "string",
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
            "maxLength": 128,
            "description": "an environment variable holding the display password",
            "examples": ["VNC_PASSWORD"],
        },
    },
    "additionalProperties": False,
    "required": ["type"],
}

SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": 3,
    "description": "displays: each type at most once; a display brings a USB tablet and a virtio video device unless inputs and video say otherwise",
    "items": ITEM_SCHEMA,
    "examples": [
        [{"type": "vnc", "listen": "127.0.0.1"}],
        [{"type": "spice", "image": {"compression": "off"}, "streaming": {"mode": "filter"}}],
        [
            {
                "type": "spice",
                "port": 5930,
                "listen": "127.0.0.1",
                "channels": {"main": "insecure", "inputs": "insecure"},
                "jpeg": {"compression": "auto"},
                "zlib": {"compression": "never"},
                "playback": {"compression": True},
                "mouse": {"mode": "client"},
                "clipboard": {"copypaste": False},
                "fileTransfer": {"enable": False},
            }
        ],
        [
            {"type": "vnc", "socket": "/tmp/family-vnc.sock"},
            {"type": "spice", "listen": "socket"},
        ],
        [{"type": "vnc", "listenNetwork": "default", "sharePolicy": "force-shared"}],
        [{"type": "vnc", "websocket": -1, "powerControl": True}],
        [{"type": "spice", "listen": "none"}],
        [{"type": "vnc"}, {"type": "egl-headless"}],
        [{"type": "dbus", "p2p": True}],
    ],
}


# --- lowering and lifting -------------------------------------------------------------------


def lower(spec: Spec, identity: Identity) -> tuple[Graphics, ...]:
    return tuple(_lower_one(graphics) for graphics in spec.get("graphics", []))


def _lower_one(graphics: dict[str, Any]) -> Graphics:
    kind = graphics["type"]
    fields: dict[str, Any] = {"type": kind}
    if kind in REMOTE:
        fields.update(_where_it_listens(graphics))
        fields["tls_port"] = graphics.get("tlsPort")
    fields.update(
        websocket=graphics.get("websocket"),
        keymap=graphics.get("keymap"),
        share_policy=graphics.get("sharePolicy"),
        power_control=graphics.get("powerControl"),
        default_mode=graphics.get("defaultMode"),
        display=graphics.get("display"),
        xauth=graphics.get("xauth"),
        # no is libvirt's default, which it does not write.
        fullscreen=graphics.get("fullscreen") or None,
        p2p=graphics.get("p2p") or None,
        address=graphics.get("address"),
    )
    modes = graphics.get("channels", {})
    fields["channels"] = tuple(
        SpiceChannel(name=name, mode=modes[name]) for name in SPICE_CHANNELS if name in modes
    )
    for key, (element, attribute) in SPICE_SETTINGS.items():
        if key in graphics:
            fields[element] = _SETTING_CLASSES[key](**{attribute: graphics[key][attribute]})
    gl = graphics.get("gl")
    if gl is not None:
        fields["gl"] = GraphicsGl(enable=gl.get("enable"), rendernode=gl.get("rendernode"))
    if "audio" in graphics:
        fields["audio"] = AudioLink(id=graphics["audio"])
    return Graphics(**fields)


def _where_it_listens(graphics: dict[str, Any]) -> dict[str, Any]:
    """port, autoport, the listen attribute and the ``<listen>`` element, as libvirt
    stores them for each kind of listener."""
    listen, socket = graphics.get("listen"), graphics.get("socket")
    if listen == LISTEN_NONE:
        return {"listens": (GraphicsListen(type="none"),)}
    if listen == LISTEN_SOCKET or socket:
        mirrored = socket if graphics["type"] == "vnc" else None  # libvirt mirrors VNC's only
        return {"socket": mirrored, "listens": (GraphicsListen(type="socket", socket=socket),)}
    port = graphics.get("port")
    fields: dict[str, Any] = {"port": port if port is not None else -1, "autoport": port is None}
    if "listenNetwork" in graphics:
        fields["listens"] = (GraphicsListen(type="network", network=graphics["listenNetwork"]),)
    elif listen:
        fields["listen"] = listen
        fields["listens"] = (GraphicsListen(type="address", address=listen),)
    return fields


def lift(
    displays: tuple[Graphics, ...], spec: Spec, identity: Identity
) -> list[dict[str, Any]] | None:
    return [_lift_one(as_libvirt_reads_it(graphics)) for graphics in displays] or None


def as_libvirt_reads_it(graphics: Graphics) -> Graphics:
    """The older ways to say where a display listens, as libvirt 9.0 stores them when it
    parses them (virDomainGraphicsListensParseXML): a ``listen`` or ``socket`` attribute
    alone becomes its ``<listen>``, and SPICE with autoport='no' and no port listens
    nowhere (type none)."""
    if graphics.type not in REMOTE or graphics.listens:
        return graphics
    if graphics.socket:
        socket = GraphicsListen(type="socket", socket=graphics.socket)
        return dataclasses.replace(graphics, listens=(socket,))
    if graphics.listen:
        address = GraphicsListen(type="address", address=graphics.listen)
        return dataclasses.replace(graphics, listens=(address,))
    no_port = graphics.port is None and graphics.tls_port is None
    if graphics.type == "spice" and graphics.autoport is False and no_port:
        return dataclasses.replace(graphics, autoport=None, listens=(GraphicsListen(type="none"),))
    return graphics


def _lift_one(graphics: Graphics) -> dict[str, Any]:
    lifted: dict[str, Any] = {"type": graphics.type}
    if graphics.type in REMOTE:
        lifted.update(_lift_listen(graphics))
        if graphics.port is not None and graphics.port != -1 and not graphics.autoport:
            lifted["port"] = graphics.port
        if graphics.tls_port is not None and graphics.tls_port != -1:
            lifted["tlsPort"] = graphics.tls_port
    for key, value in (
        ("websocket", graphics.websocket),
        ("keymap", graphics.keymap),
        ("sharePolicy", graphics.share_policy),
        ("powerControl", graphics.power_control),
        ("defaultMode", graphics.default_mode),
        ("display", graphics.display),
        ("xauth", graphics.xauth),
        ("fullscreen", graphics.fullscreen),
        ("address", graphics.address),
        ("p2p", graphics.p2p),
    ):
        if value is not None:
            lifted[key] = value
    if graphics.channels:
        lifted["channels"] = {channel.name: channel.mode for channel in graphics.channels}
    for key, (element, attribute) in SPICE_SETTINGS.items():
        setting = getattr(graphics, element)
        if setting is not None:
            lifted[key] = {attribute: getattr(setting, attribute)}
    if graphics.gl is not None:
        gl = {"enable": graphics.gl.enable, "rendernode": graphics.gl.rendernode}
        lifted["gl"] = {key: value for key, value in gl.items() if value is not None}
    if graphics.audio is not None:
        lifted["audio"] = graphics.audio.id
    return lifted


def _lift_listen(graphics: Graphics) -> dict[str, Any]:
    first = graphics.listens[0] if graphics.listens else None
    if first is None:
        return {"listen": graphics.listen} if graphics.listen else {}
    if first.type == "none":
        return {"listen": LISTEN_NONE}
    if first.type == "socket":
        return {"socket": first.socket} if first.socket else {"listen": LISTEN_SOCKET}
    if first.type == "network":
        return {"listenNetwork": first.network}
    return {"listen": first.address} if first.address else {}


def cannot_say(displays: tuple[Graphics, ...]) -> tuple[str, ...]:
    return tuple(
        f"/domain/devices/graphics[{index}]/listen[2]: a second listener (QEMU takes one)"
        for index, graphics in enumerate(displays, start=1)
        if len(graphics.listens) > 1
    )


# --- what libvirt fills in ------------------------------------------------------------------


def as_libvirt_stores_it(live: tuple[Graphics, ...], wanted: tuple[Graphics, ...]):
    stored = (as_libvirt_reads_it(item) for item in live)
    return tuple(_as_stored(_same_type(wanted, item), item) for item in stored)


def _same_type(wanted: tuple[Graphics, ...], live: Graphics) -> Graphics | None:
    # One display of each type (the semantic checks say so): the type names it.
    return next((item for item in wanted if item.type == live.type), None)


def _as_stored(match: Graphics | None, live: Graphics) -> Graphics:
    if match is None:
        return live
    if live.autoport and match.port == -1:
        # With autoport the port is libvirt's to pick at start (and SPICE drops port='-1').
        live = dataclasses.replace(live, port=-1)
    if not match.listens and live.listens == (GraphicsListen(type="address"),):
        # Without a listen address libvirt stores <listen type='address'/>: qemu.conf's
        # default address, which is what no listen means.
        live = dataclasses.replace(live, listens=())
    if live.tls_port == -1 and match.tls_port is None:
        # virt-install writes tlsPort='-1' ("pick one"); libvirt drops it on define, as
        # SPICE without TLS ports configured has none to pick.
        live = dataclasses.replace(live, tls_port=None)
    return live


def as_libvirt_starts_it(live: tuple[Graphics, ...], wanted: tuple[Graphics, ...]):
    return tuple(_as_started(_same_type(wanted, item), item) for item in live)


def _as_started(match: Graphics | None, running: Graphics) -> Graphics:
    if match is None:
        return running
    if match.websocket == -1 and running.websocket:
        running = dataclasses.replace(running, websocket=-1)  # picked at start, again
    wanted_listen = match.listens[0] if match.listens else None
    if wanted_listen is None:
        # With no listen address libvirt listens where qemu.conf says (vnc_listen and
        # spice_listen, or a socket of its own with vnc_auto_unix_socket) and writes that
        # at start; the next start reads the same qemu.conf.
        listens = tuple(
            listen
            for listen in running.listens
            if listen.type != "socket"
            and not (listen.type == "address" and listen.address == running.listen)
        )
        return dataclasses.replace(running, listen=None, listens=listens, socket=match.socket)
    if wanted_listen.type == "network":
        # libvirt resolves the network to its address at every start.
        return dataclasses.replace(running, listen=None, listens=match.listens)
    if wanted_listen.type == "socket" and wanted_listen.socket is None:
        # A socket libvirt makes under its own run directory at every start.
        return dataclasses.replace(running, socket=None, listens=match.listens)
    return running


# --- semantic checks ------------------------------------------------------------------------


def _displays(spec: Spec) -> Iterator[Finding]:
    seen_types: set[str] = set()
    seen_ports: dict[int, int] = {}
    for index, graphics in enumerate(spec.get("graphics", [])):
        where: FieldPath = ("spec", "graphics", index)
        kind = graphics["type"]
        if kind in seen_types:
            yield Finding((*where, "type"), f"only one {kind} display per VM")
        seen_types.add(kind)
        for key in graphics:
            if key != "type" and key not in TYPE_KEYS[kind]:
                takes = sorted(t for t, keys in TYPE_KEYS.items() if key in keys)
                yield Finding((*where, key), f"{key} is for {' and '.join(takes)} displays")
        for key in ("port", "tlsPort"):
            port = graphics.get(key)
            if port is not None:
                if port in seen_ports:
                    # QEMU would fail to start with "address already in use".
                    yield Finding(
                        (*where, key),
                        f"port {port} is already used by graphics[{seen_ports[port]}]",
                    )
                seen_ports.setdefault(port, index)
        if "passwordFile" in graphics and "passwordEnv" in graphics:
            yield Finding(
                (*where, "passwordEnv"),
                "give the password in passwordFile or passwordEnv, not both",
            )
        if graphics.get("p2p") and "address" in graphics:
            # libvirt's schema: a D-Bus display is on a bus (address) or peer-to-peer.
            yield Finding(
                (*where, "address"), "a peer-to-peer (p2p) D-Bus display has no bus address"
            )
        yield from _listen(graphics, where)
        yield from _socket_folder(graphics, where)
        yield from _gl(graphics, where)
    yield from _egl_headless(spec)


# libvirt takes a socket in its own folder of the system instance for one it made
# itself, and drops it on define (seen with libvirt 9.0): the display would listen on
# an address instead.
LIBVIRTS_SOCKET_FOLDER = "/var/lib/libvirt/qemu/"


def _socket_folder(graphics: dict[str, Any], where: FieldPath) -> Iterator[Finding]:
    socket = graphics.get("socket", "")
    if socket.startswith(LIBVIRTS_SOCKET_FOLDER):
        yield Finding(
            (*where, "socket"),
            f"libvirt drops a socket in {LIBVIRTS_SOCKET_FOLDER} as one it made itself: "
            "choose another folder, or listen: socket for one libvirt makes",
        )


def _egl_headless(spec: Spec) -> Iterator[Finding]:
    types = [graphics["type"] for graphics in spec.get("graphics", [])]
    if "egl-headless" not in types:
        return
    others = {kind for kind in types if kind != "egl-headless"} - set(REMOTE)
    if others:
        # libvirt: "graphics type 'egl-headless' is only supported with one of: 'vnc',
        # 'spice' graphics types": it renders for them, or alone.
        where = ("spec", "graphics", types.index("egl-headless"), "type")
        yield Finding(
            where, f"egl-headless renders for vnc and spice displays, not beside {min(others)}"
        )


def _listen(graphics: dict[str, Any], where: FieldPath) -> Iterator[Finding]:
    listen = graphics.get("listen")
    if listen not in (None, LISTEN_NONE, LISTEN_SOCKET) and not is_ip_address_libvirt_takes(listen):
        yield Finding(
            (*where, "listen"),
            f"{listen!r} is not an IP address (such as 127.0.0.1 or ::1), {LISTEN_NONE} or {LISTEN_SOCKET}",
        )
    listeners = [key for key in ("listen", "socket", "listenNetwork") if key in graphics]
    if len(listeners) > 1:
        yield Finding(
            (*where, listeners[1]),
            f"a display listens in one place: {listeners[0]} or {listeners[1]}, not both",
        )
    without_port = listen in (LISTEN_NONE, LISTEN_SOCKET) or "socket" in graphics
    # libvirt's schema takes these with an address or network listener only.
    for key in ("port", "tlsPort", "websocket", "sharePolicy", "powerControl"):
        if key in graphics and without_port:
            yield Finding((*where, key), f"{key} is for a display that listens on an address")
    if "tlsPort" in graphics and "port" not in graphics:
        # libvirt would pick the plain port while the TLS one is fixed: say both.
        yield Finding((*where, "tlsPort"), "a fixed tlsPort needs a fixed port as well")


def _gl(graphics: dict[str, Any], where: FieldPath) -> Iterator[Finding]:
    gl = graphics.get("gl")
    if gl is None:
        return
    kind = graphics["type"]
    if kind == "egl-headless" and "enable" in gl:
        yield Finding((*where, "gl", "enable"), "egl-headless is OpenGL itself: only rendernode")
    if kind in ("spice", "sdl", "dbus") and "enable" not in gl:
        yield Finding((*where, "gl"), f"gl on a {kind} display needs enable")
    if kind == "sdl" and "rendernode" in gl:
        yield Finding((*where, "gl", "rendernode"), "sdl renders on the X display's own GPU")
    local = graphics.get("listen") in (LISTEN_NONE, LISTEN_SOCKET) or "socket" in graphics
    if kind == "spice" and gl.get("enable") and not local:
        # QEMU: "SPICE GL support is local-only for now and incompatible with -spice port/tls-port".
        yield Finding(
            (*where, "gl"), f"SPICE's OpenGL is local only: listen {LISTEN_NONE}, or a socket"
        )


def _host_paths(displays: tuple[Graphics, ...]) -> list[tuple[str, str]]:
    return [
        ("graphics rendernode", graphics.gl.rendernode)
        for graphics in displays
        if graphics.gl is not None and graphics.gl.rendernode
    ]


FAMILY = Family(
    spec_field="graphics",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="graphics",
    lower=lower,
    lift=lift,
    cannot_say=cannot_say,
    checks=(_displays,),
    libvirt_fills_in=as_libvirt_stores_it,
    libvirt_resolves_at_start=as_libvirt_starts_it,
    host_paths=_host_paths,
)
