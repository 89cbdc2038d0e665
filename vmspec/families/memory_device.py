"""``<memory>`` devices: memory plugged into the guest beside its boot RAM: DIMMs and
virtio-mem for memory hotplug, NVDIMMs and virtio-pmem for persistent memory backed by
a host file (formatdomain "Memory devices").

A guest that grows while it runs takes DIMMs (a whole module each) or a virtio-mem
device (resized in blocks, up to its size, by ``virsh update-memory-device``); both
need ``maxMemory`` and guest NUMA cells on x86 (max_memory.py, numa.py). An NVDIMM or
virtio-pmem device maps a host file into the guest as a disk-like memory region (DAX).
libvirt counts the devices in ``<memory>``: spec.memory is the cells and the devices
together, as libvirt's qemu driver stores it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.arches import spec_arch
from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.memory import MemorySize
from vmspec.config.xmlmap import attr, child, config_class, flag, text_child
from vmspec.cpulist import PATTERN, as_written, host_list_problems
from vmspec.families.current_memory import memory_kib
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.families.memory_backing import HUGE_PAGE_KIB
from vmspec.problems import Finding
from vmspec.units import format_kib, size_in_kib, with_size_in_kib


@config_class
class MemoryDeviceSource:
    TAG: ClassVar[str] = "source"
    nodemask: str | None = text_child("nodemask")
    pagesize: MemorySize | None = child("pagesize")
    path: str | None = text_child("path")
    alignsize: MemorySize | None = child("alignsize")
    pmem: bool = flag("pmem")


@config_class
class MemoryDeviceLabel:
    TAG: ClassVar[str] = "label"
    size: MemorySize | None = child("size")


@config_class
class MemoryDeviceTarget:
    TAG: ClassVar[str] = "target"
    size: MemorySize | None = child("size")
    node: int | None = text_child("node")
    label: MemoryDeviceLabel | None = child()
    block: MemorySize | None = child("block")
    requested: MemorySize | None = child("requested")
    current: MemorySize | None = child("current")  # a running virtio-mem device's size
    readonly: bool = flag("readonly")


@config_class
class MemoryDevice:
    TAG: ClassVar[str] = "memory"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model", "source/path", "target/node")
    SAME_SLOT: ClassVar[tuple[str, ...]] = ("target/size",)
    model: str | None = attr("model")
    access: str | None = attr("access")
    discard: bool | None = attr("discard")
    source: MemoryDeviceSource | None = child()
    target: MemoryDeviceTarget | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


# What each model takes besides size, as libvirt 9.0's qemu driver accepts it.
_FILE_BACKED = ("nvdimm", "virtio-pmem")
_TAKES = {
    "dimm": {"node", "nodemask", "pagesize", "access", "discard"},
    "virtio-mem": {"node", "nodemask", "pagesize", "block", "requested", "access", "discard"},
    "nvdimm": {"node", "path", "alignsize", "pmem", "label", "readonly", "access", "discard"},
    "virtio-pmem": {"path", "access", "discard"},
}
_SIZE = {"$ref": "#/$defs/size"}

SCHEMA = {
    "type": "array",
    "minItems": 1,
    # QEMU's ACPI memory hotplug has 256 slots on x86 (ACPI_MAX_RAM_SLOTS).
    "maxItems": 256,
    "items": {
        "type": "object",
        "properties": {
            "model": {
                "enum": ["dimm", "virtio-mem", "nvdimm", "virtio-pmem"],
                "description": "dimm: a memory module (hotplug, a slot of maxMemory); virtio-mem: memory resized in blocks while the guest runs; nvdimm, virtio-pmem: persistent memory backed by a host file (path)",
            },
            "size": {
                **_SIZE,
                "description": "the device's size (virtio-mem: the most it may give the guest)",
            },
            "node": {
                "type": "integer",
                "minimum": 0,
                "description": "the guest NUMA cell it belongs to: its place in numa",
            },
            "nodemask": {
                "type": "string",
                "pattern": PATTERN,
                "maxLength": 1024,
                "description": "the host NUMA nodes its memory comes from (dimm, virtio-mem)",
            },
            "pagesize": {
                **_SIZE,
                "description": "back it with huge pages of this size (dimm, virtio-mem; needs them reserved on the host)",
                "examples": ["2MiB", "1GiB"],
            },
            "path": {
                "$ref": "#/$defs/absolutePath",
                "description": "the host file that holds its contents (nvdimm, virtio-pmem)",
            },
            "alignsize": {
                **_SIZE,
                "description": "the alignment QEMU maps the file with (nvdimm on a DAX device: its own alignment)",
                "examples": ["2MiB"],
            },
            "pmem": {
                "type": "boolean",
                "description": "the file is on real persistent memory: QEMU writes through to it (nvdimm)",
            },
            "label": {
                **_SIZE,
                "description": "the size of the namespace label area at its start, at least 128KiB (nvdimm)",
            },
            "readonly": {"type": "boolean", "description": "the guest may not write it (nvdimm)"},
            "block": {
                **_SIZE,
                "description": "the unit virtio-mem plugs and unplugs, a power of two of at least the page size",
            },
            "requested": {
                **_SIZE,
                "description": "how much of its size virtio-mem gives the guest at start, in whole blocks",
            },
            "access": {
                "enum": ["shared", "private"],
                "description": "shared: other processes may map its memory; private: writes stay in the guest (a file is not changed)",
            },
            "discard": {
                "type": "boolean",
                "description": "give its memory back to the host when the guest stops",
            },
        },
        "required": ["model", "size"],
        "additionalProperties": False,
    },
    "description": "memory devices beside the boot memory: DIMMs and virtio-mem for memory hotplug (need maxMemory and numa), NVDIMMs and virtio-pmem for persistent memory in a host file; memory counts them",
    "examples": [
        [{"model": "dimm", "size": "128MiB", "node": 0}],
        [
            {
                "model": "dimm",
                "size": "64MiB",
                "node": 1,
                "nodemask": "0",
                "access": "private",
                "discard": True,
            },
            {
                "model": "virtio-mem",
                "size": "64MiB",
                "node": 0,
                "block": "2MiB",
                "requested": "32MiB",
            },
        ],
        [
            {
                "model": "nvdimm",
                "size": "128MiB",
                "node": 0,
                "path": "/var/lib/libvirt/qemu/nvram/family-example-nvdimm.img",
                "label": "128KiB",
                "access": "shared",
            }
        ],
    ],
}


def _size(text: str | None) -> MemorySize | None:
    return None if text is None else MemorySize(unit="KiB", value=size_in_kib(text))


def lower(spec: Spec, identity: Identity) -> tuple[MemoryDevice, ...]:
    return tuple(_device(device) for device in spec.get("memoryDevices", ()))


def _device(device: dict[str, Any]) -> MemoryDevice:
    source = MemoryDeviceSource(
        nodemask=device.get("nodemask"),
        pagesize=_size(device.get("pagesize")),
        path=device.get("path"),
        alignsize=_size(device.get("alignsize")),
        pmem=device.get("pmem", False),
    )
    label = device.get("label")
    return MemoryDevice(
        model=device["model"],
        access=device.get("access"),
        discard=device.get("discard"),
        source=None if source == MemoryDeviceSource() else source,
        target=MemoryDeviceTarget(
            size=_size(device["size"]),
            node=device.get("node"),
            label=MemoryDeviceLabel(size=_size(label)) if label else None,
            block=_size(device.get("block")),
            requested=_size(device.get("requested")),
            readonly=device.get("readonly", False),
        ),
    )


def lift(
    devices: tuple[MemoryDevice, ...], spec: Spec, identity: Identity
) -> list[dict[str, Any]] | None:
    lifted = [_lifted(as_stored) for as_stored in as_libvirt_stores_them(devices, ())]
    return lifted or None


def _lifted(device: MemoryDevice) -> dict[str, Any]:
    entry: dict[str, Any] = {"model": device.model}
    target = device.target or MemoryDeviceTarget()
    source = device.source or MemoryDeviceSource()
    sizes = {
        "size": target.size,
        "pagesize": source.pagesize,
        "alignsize": source.alignsize,
        "label": target.label.size if target.label else None,
        "block": target.block,
        "requested": target.requested,
    }
    values = {
        "node": target.node,
        "nodemask": source.nodemask,
        "path": source.path,
        "pmem": source.pmem or None,
        "readonly": target.readonly or None,
        "access": device.access,
        "discard": device.discard,
        **{
            key: format_kib(size.value)
            for key, size in sizes.items()
            if size and size.value is not None
        },
    }
    entry["size"] = values.pop("size", "0KiB")
    entry.update({key: value for key, value in values.items() if value is not None})
    return entry


def as_libvirt_stores_them(
    devices: tuple[MemoryDevice, ...], wanted: Any
) -> tuple[MemoryDevice, ...]:
    """libvirt stores sizes in KiB and node lists in its own form (0,1 as 0-1; said back
    in the spec's words): the same devices (seen with libvirt 9.0: define, dumpxml)."""
    wanted = wanted if isinstance(wanted, tuple) else ()
    return tuple(
        _stored(device, wanted[index] if index < len(wanted) else None)
        for index, device in enumerate(devices)
    )


def _stored(device: MemoryDevice, wanted: MemoryDevice | None) -> MemoryDevice:
    source, target = device.source, device.target
    if source is not None:
        wanted_mask = wanted.source.nodemask if wanted and wanted.source else None
        source = dataclasses.replace(
            source,
            nodemask=as_written(source.nodemask, wanted_mask),
            pagesize=with_size_in_kib(source.pagesize),
            alignsize=with_size_in_kib(source.alignsize),
        )
    if target is not None:
        label = target.label
        if label is not None:
            label = MemoryDeviceLabel(size=with_size_in_kib(label.size))
        target = dataclasses.replace(
            target,
            size=with_size_in_kib(target.size),
            label=label,
            block=with_size_in_kib(target.block),
            requested=with_size_in_kib(target.requested),
            current=with_size_in_kib(target.current),
        )
    return dataclasses.replace(device, source=source, target=target)


def without_current_size(
    running: tuple[MemoryDevice, ...], wanted: Any
) -> tuple[MemoryDevice, ...]:
    """A running virtio-mem device says how much it gives the guest at this moment
    (``<current>``): not a setting, and the next start begins again at requested."""
    return tuple(
        dataclasses.replace(device, target=dataclasses.replace(device.target, current=None))
        if device.target is not None
        else device
        for device in as_libvirt_stores_them(running, wanted)
    )


def cannot_say(devices: tuple[MemoryDevice, ...]) -> tuple[str, ...]:
    return tuple(
        f"/domain/devices/memory[{index}]/@model: {device.model} (the spec has dimm, virtio-mem and nvdimm)"
        for index, device in enumerate(devices, start=1)
        if device.model not in _TAKES
    )


def device_kib(spec: Spec) -> int:
    """What the memory devices hold together, in KiB (0 where a size is malformed: the
    device checks say so)."""
    total = 0
    for device in spec.get("memoryDevices", ()):
        try:
            total += size_in_kib(device["size"])
        except ValueError:
            return 0
    return total


def _fits_its_model(spec: Spec) -> Iterator[Finding]:
    cells = len(spec.get("numa", ()))
    for index, device in enumerate(spec.get("memoryDevices", ())):
        where = ("spec", "memoryDevices", index)
        model = device["model"]
        if model == "virtio-pmem":
            # Seen with libvirt 9.0 and QEMU 7.2: the guest is defined, and its start
            # fails with "virtio-pmem memory device info is not handled yet".
            message = "libvirt 9.0 cannot start a guest with a virtio-pmem device (it does not read QEMU's report of it yet): use an nvdimm"
            yield Finding((*where, "model"), message)
        for key in sorted(set(device) - _TAKES[model] - {"model", "size"}):
            # libvirt drops it, or QEMU has no such property for the model.
            yield Finding((*where, key), f"{model} devices take no {key}")
        if model in _FILE_BACKED and "path" not in device:
            # libvirt at define: "path is required for model 'nvdimm'".
            yield Finding(where, f"{model} devices need the host file that backs them: add path")
        if model == "virtio-mem" and "block" not in device:
            # libvirt at define: "block size must be a power of two" (none is 0).
            yield Finding(
                where, "a virtio-mem device needs its block size: add block (2MiB on x86)"
            )
        if "node" in device and device["node"] >= max(cells, 1) and (cells or device["node"] > 0):
            # libvirt at define: "can't add memory backend for guest node '1' as the guest
            # has only '1' NUMA nodes configured".
            have = f"numa has cells 0 to {cells - 1}" if cells else "the guest has no numa cells"
            yield Finding((*where, "node"), f"cell {device['node']} is no guest cell: {have}")
        elif "node" not in device and "node" in _TAKES[model] and cells:
            # libvirt at define: "target NUMA node needs to be specified for memory device".
            yield Finding(where, "a guest with numa cells plugs each device into one: add node")
        if "nodemask" in device:
            for problem in host_list_problems(device["nodemask"], "host nodes", "host node"):
                yield Finding((*where, "nodemask"), problem)
        yield from _sizes(device, where, spec_arch(spec))


def _sizes(device: dict[str, Any], where: tuple[Any, ...], arch: str) -> Iterator[Finding]:
    try:
        kib = {
            key: size_in_kib(device[key])
            for key in ("size", "label", "block", "requested", "pagesize", "alignsize")
            if key in device
        }
    except ValueError as error:
        yield Finding(where, str(error))
        return
    if kib["size"] == 0:
        yield Finding((*where, "size"), "a memory device of 0KiB holds nothing")
    if "pagesize" in kib and kib["pagesize"] not in (4, *HUGE_PAGE_KIB[arch]):
        # libvirt takes any size; QEMU fails at start without such pages on the host.
        sizes = ", ".join(format_kib(size) for size in HUGE_PAGE_KIB[arch])
        message = f"{device['pagesize']} is no huge page size of {arch} hosts: use one of {sizes}"
        yield Finding((*where, "pagesize"), message)
    if "requested" in kib and kib["requested"] > kib["size"]:
        # libvirt at define: "requested size must be smaller than or equal to @size".
        yield Finding(
            (*where, "requested"),
            f"{device['requested']} is more than size ({device['size']}): at most size",
        )
    if "block" in kib:
        block = kib["block"]
        if block & (block - 1) or block < 2048:
            # libvirt at define: "block size must be a power of two", "block size too
            # small, must be at least 2048KiB".
            yield Finding(
                (*where, "block"),
                f"{device['block']} is no block size: a power of two of at least 2MiB",
            )
        else:
            for key in ("size", "requested"):
                if key in kib and kib[key] % block:
                    # libvirt takes it; QEMU refuses to start: "'size' property must be
                    # multiple of 'block-size'".
                    yield Finding(
                        (*where, key),
                        f"{device[key]} is no whole number of {device['block']} blocks",
                    )
    if "label" in kib and kib["label"] < 128:
        # libvirt at define: "nvdimm label must be at least 128KiB".
        yield Finding(
            (*where, "label"), f"{device['label']} is less than the 128KiB a label area needs"
        )


def _hotplug_needs_max_memory(spec: Spec) -> Iterator[Finding]:
    devices = spec.get("memoryDevices", ())
    if devices and "maxMemory" not in spec:
        # libvirt at define: "cannot use/hotplug a memory device when domain 'maxMemory'
        # is not defined".
        message = "memory devices sit in the room maxMemory makes above memory: add maxMemory"
        yield Finding(("spec", "memoryDevices"), message)
        return
    memory = memory_kib(spec)
    if devices and not spec.get("numa") and memory is not None and device_kib(spec) >= memory:
        # libvirt at define: "Total size of memory devices exceeds the total memory size"
        # (without cells, the boot memory is memory less the devices).
        message = f"the memory devices hold {format_kib(device_kib(spec))}, memory is {spec['memory']}: memory is the boot memory and the devices together"
        yield Finding(("spec", "memory"), message)
    if "maxMemory" in spec and len(devices) > spec["maxMemory"]["slots"]:
        # libvirt at define: "memory device count '3' exceeds slots count '2'" (each
        # model takes a slot; DIMMs: "failed to find an empty memory slot").
        message = (
            f"{len(devices)} memory devices, but maxMemory has {spec['maxMemory']['slots']} slots"
        )
        yield Finding(("spec", "maxMemory", "slots"), message)


def host_paths(devices: tuple[MemoryDevice, ...]) -> Iterator[tuple[str, str]]:
    for index, device in enumerate(devices, start=1):
        # libvirt refuses to start without the file: "Path '...' is not accessible".
        if device.source is not None and device.source.path:
            yield (f"memory device {index} ({device.model})", device.source.path)


FAMILY = Family(
    spec_field="memoryDevices",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="memory_devices",
    lower=lower,
    lift=lift,
    cannot_say=cannot_say,
    checks=(_fits_its_model, _hotplug_needs_max_memory),
    libvirt_fills_in=as_libvirt_stores_them,
    libvirt_resolves_at_start=without_current_size,
    host_paths=host_paths,
)
