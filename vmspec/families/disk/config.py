"""The config classes of the disk family: ``<disk>`` with its driver, source
(with its auth and encryption), backing chain, target, I/O limits and serial.

formatdomain: "Hard drives, floppy disks, CDROMs".
"""

from __future__ import annotations

from typing import ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import ON_OFF, attr, child, children, config_class, flag, text_child


@config_class
class DiskDriver:
    TAG: ClassVar[str] = "driver"
    name: str | None = attr("name")
    type: str | None = attr("type")
    cache: str | None = attr("cache")
    error_policy: str | None = attr("error_policy")
    rerror_policy: str | None = attr("rerror_policy")
    io: str | None = attr("io")
    event_idx: bool | None = attr("event_idx", codec=ON_OFF)
    copy_on_read: bool | None = attr("copy_on_read", codec=ON_OFF)
    discard: str | None = attr("discard")
    detect_zeroes: str | None = attr("detect_zeroes")
    queues: int | None = attr("queues")
    queue_size: int | None = attr("queue_size")


@config_class
class SourceHost:
    TAG: ClassVar[str] = "host"
    transport: str | None = attr("transport")  # tcp (libvirt's default), rdma, unix
    name: str | None = attr("name")
    port: int | None = attr("port")
    socket: str | None = attr("socket")  # the unix transport's


@config_class
class DiskSeclabel:
    """A security driver's word for this image alone (formatdomain "seclabel" in a disk's
    source): leave it as it is (relabel no), or give it this label."""

    TAG: ClassVar[str] = "seclabel"
    model: str | None = attr("model")  # selinux, apparmor, dac
    relabel: bool | None = attr("relabel")
    label: str | None = text_child("label")


@config_class
class ReservationsSource:
    TAG: ClassVar[str] = "source"
    type: str | None = attr("type")  # unix
    path: str | None = attr("path")
    mode: str | None = attr("mode")  # client: a qemu-pr-helper someone else runs


@config_class
class Reservations:
    """SCSI persistent reservations of a lun, through qemu-pr-helper: libvirt's own
    (managed), or one listening on a socket."""

    TAG: ClassVar[str] = "reservations"
    managed: bool | None = attr("managed")
    source: ReservationsSource | None = child()


@config_class
class Iqn:
    TAG: ClassVar[str] = "iqn"
    name: str | None = attr("name")


@config_class
class Initiator:
    """The iSCSI initiator name QEMU logs in with."""

    TAG: ClassVar[str] = "initiator"
    iqn: Iqn | None = child()


@config_class
class SecretReference:
    """A libvirt secret, by uuid or by usage: the value stays in libvirt (virsh secret-*)."""

    TAG: ClassVar[str] = "secret"
    type: str | None = attr("type")  # ceph, iscsi (auth); passphrase (encryption)
    uuid: str | None = attr("uuid")
    usage: str | None = attr("usage")


@config_class
class DiskAuth:
    """The credentials of a network disk (rbd, iscsi): a user name and its secret."""

    TAG: ClassVar[str] = "auth"
    username: str | None = attr("username")
    secret: SecretReference | None = child()


@config_class
class DiskEncryption:
    """An image QEMU decrypts (LUKS), with the passphrase from a libvirt secret."""

    TAG: ClassVar[str] = "encryption"
    format: str | None = attr("format")
    engine: str | None = attr("engine")
    secret: SecretReference | None = child()


@config_class
class DiskSource:
    """One class for every source type: libvirt tells them apart by the disk's ``type``."""

    TAG: ClassVar[str] = "source"
    file: str | None = attr("file")
    dev: str | None = attr("dev")
    pool: str | None = attr("pool")
    volume: str | None = attr("volume")
    protocol: str | None = attr("protocol")
    name: str | None = attr("name")
    tls: bool | None = attr("tls")
    tls_hostname: str | None = attr("tlsHostname")
    mode: str | None = attr("mode")  # an iSCSI pool's volume: through the host, or QEMU's own
    startup_policy: str | None = attr("startupPolicy")
    hosts: tuple[SourceHost, ...] = children()
    seclabels: tuple[DiskSeclabel, ...] = children()
    reservations: Reservations | None = child()
    initiator: Initiator | None = child()
    auth: DiskAuth | None = child()
    encryption: DiskEncryption | None = child()


@config_class
class DiskFormat:
    TAG: ClassVar[str] = "format"
    type: str | None = attr("type")


@config_class
class BackingStore:
    TAG: ClassVar[str] = "backingStore"
    type: str | None = attr("type")
    format: DiskFormat | None = child()
    source: DiskSource | None = child()
    backing_store: BackingStore | None = child()


@config_class
class DiskTarget:
    TAG: ClassVar[str] = "target"
    dev: str | None = attr("dev")
    bus: str | None = attr("bus")
    tray: str | None = attr("tray")  # a cdrom's or floppy's: open (closed, libvirt drops)
    rotation_rate: int | None = attr("rotation_rate")


@config_class
class DiskIoTune:
    """I/O limits (formatdomain "iotune"): bytes and requests per second, in total or
    read and write apart, their bursts (``*_max`` for ``*_max_length`` seconds), and a
    group whose disks share one set of limits."""

    TAG: ClassVar[str] = "iotune"
    total_bytes_sec: int | None = text_child("total_bytes_sec")
    read_bytes_sec: int | None = text_child("read_bytes_sec")
    write_bytes_sec: int | None = text_child("write_bytes_sec")
    total_iops_sec: int | None = text_child("total_iops_sec")
    read_iops_sec: int | None = text_child("read_iops_sec")
    write_iops_sec: int | None = text_child("write_iops_sec")
    total_bytes_sec_max: int | None = text_child("total_bytes_sec_max")
    read_bytes_sec_max: int | None = text_child("read_bytes_sec_max")
    write_bytes_sec_max: int | None = text_child("write_bytes_sec_max")
    total_iops_sec_max: int | None = text_child("total_iops_sec_max")
    read_iops_sec_max: int | None = text_child("read_iops_sec_max")
    write_iops_sec_max: int | None = text_child("write_iops_sec_max")
    size_iops_sec: int | None = text_child("size_iops_sec")
    group_name: str | None = text_child("group_name")
    total_bytes_sec_max_length: int | None = text_child("total_bytes_sec_max_length")
    read_bytes_sec_max_length: int | None = text_child("read_bytes_sec_max_length")
    write_bytes_sec_max_length: int | None = text_child("write_bytes_sec_max_length")
    total_iops_sec_max_length: int | None = text_child("total_iops_sec_max_length")
    read_iops_sec_max_length: int | None = text_child("read_iops_sec_max_length")
    write_iops_sec_max_length: int | None = text_child("write_iops_sec_max_length")


@config_class
class DiskTransient:
    """``<transient/>``: the guest's writes go to an overlay QEMU drops at shutdown."""

    TAG: ClassVar[str] = "transient"
    share_backing: bool | None = attr("shareBacking")


@config_class
class DiskBoot:
    TAG: ClassVar[str] = "boot"
    order: int | None = attr("order")


@config_class
class Disk:
    TAG: ClassVar[str] = "disk"
    IDENTITY: ClassVar[tuple[str, ...]] = ("target/@dev",)
    SAME_SLOT: ClassVar[tuple[str, ...]] = ("target/@bus",)  # a PCI address fits no SATA disk
    HOTPLUG: ClassVar[bool] = True
    type: str | None = attr("type")
    device: str | None = attr("device")
    model: str | None = attr("model")  # virtio's: transitional, non-transitional
    rawio: bool | None = attr("rawio")  # a lun's
    snapshot: str | None = attr("snapshot")  # what a snapshot of the domain does with it
    driver: DiskDriver | None = child()
    # libvirt takes auth and encryption here too (their older place) and keeps them
    # where they were written; vmspec writes them in <source>.
    auth: DiskAuth | None = child()
    source: DiskSource | None = child()
    backing_store: BackingStore | None = child()
    target: DiskTarget | None = child()
    iotune: DiskIoTune | None = child()
    readonly: bool = flag("readonly")
    shareable: bool = flag("shareable")
    transient: DiskTransient | None = child()
    serial: str | None = text_child("serial")
    wwn: str | None = text_child("wwn")
    vendor: str | None = text_child("vendor")
    product: str | None = text_child("product")
    encryption: DiskEncryption | None = child()
    boot: DiskBoot | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)
