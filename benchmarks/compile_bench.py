"""Compile throughput and peak memory (goals 1 and 4 of the benchmarks issue).

For each N: N typical specs (4 disks, 2 NICs, VNC, labels) in a temporary folder, then,
interleaved, the median of --repeat runs of each of:

- `vmspec compile DIR -o OUT`, as a user runs it again, with the compile cache a first
  run filled (its own cache folder): OUT empty (every file written), OUT current (every
  file read and compared, none written), and OUT current after one spec was edited
  (that one compiled, the others from the cache);
- the same with `--no-cache`, every document validated, lowered and emitted (what a
  first run, or a run after vmspec itself changed, does): OUT empty and OUT current;
- the floor, compile_floor.py: PyYAML's C loader on the same specs with their profiles
  merged in, lxml parse + serialize of the XML vmspec wrote with the marker's hash
  computed again; without writing, and writing the XML files (plain writes), which must
  be vmspec's bytes.

Once: `virt-install --connect test:///default --print-xml` for --virt-install-vms VMs, one
call per VM as people make it; and `vmspec compile -o --no-cache` of one spec, the fixed
cost taken out of the growth figure. Peak memory: each process's max RSS, from GNU time.

    .venv/bin/python benchmarks/compile_bench.py [--quick] [--sizes N ...] [--profiles] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from measure import (
    PYTHON,
    TIMES,
    VMSPEC,
    duration,
    goal_line,
    goal_table,
    machine,
    markdown_table,
    median,
    mib,
    run,
    times,
)

FLOOR = str(Path(__file__).with_name("compile_floor.py"))
# What is timed for each N: vmspec with its compile cache (filled by a first run) and
# without it (--no-cache: every document validated, lowered and emitted), and the floor.
MEASURED = (
    "compile_new",  # OUT empty, every document from the cache
    "compile_current",  # OUT current, every document from the cache
    "compile_one_edit",  # OUT current, one spec edited since the last run
    "full_new",  # OUT empty, --no-cache
    "full_current",  # OUT current, --no-cache
    "floor_read",
    "floor_write",
)
# run_benchmark's arguments for a full run, and for --quick (a smoke run).
FULL = {"sizes": [100, 1000, 10000], "repeat": 5, "virt_install_vms": 20}
QUICK = {"sizes": [50, 500], "repeat": 1, "virt_install_vms": 3}
IMAGES = "/var/lib/libvirt/images"

# The envelope of every typical VM.
_HEADER = """\
apiVersion: vmspec/v1
kind: VirtualMachine
metadata:
  name: {name}
  labels: {{role: {role}, tier: {tier}, team: platform}}
  description: "generated for the compile benchmark"
spec:
"""
# The CD-ROM, the same in every typical VM.
_CDROM = """\
    - target: sda
      bus: sata
      device: cdrom
      file: {images}/debian-12.iso
      readonly: true
"""
# The NICs: their MACs are set, because a thousand VMs' derived MACs (24 bits) start to
# collide from a few thousand, which vmspec refuses (10,000 VMs would have 14 pairs).
_NICS = """\
  interfaces:
    - network: default
      mac: "{mac0}"
    - bridge: br0
      model: virtio
      mac: "{mac1}"
"""
_DISPLAY = """\
  graphics:
    - type: vnc
      listen: 127.0.0.1
"""


SPEC = (
    _HEADER
    + """\
  domainType: kvm
  machine: q35
  memory: {memory}GiB
  vcpus: {vcpus}
  disks:
    - target: vda
      file: {images}/{name}-root.qcow2
      cache: none
      io: native
      discard: unmap
    - target: vdb
      file: {images}/{name}-data.qcow2
    - target: vdc
      file: {images}/{name}-scratch.img
      format: raw
"""
    + _CDROM
    + _NICS
    + _DISPLAY
)


# With --profiles: the same VMs, what they share said once in a profile they all list
# (they compile to the same XML), so that merging is part of what is measured.
PROFILE = (
    """\
apiVersion: vmspec/v1
kind: Profile
metadata:
  name: typical
spec:
  domainType: kvm
  machine: q35
  disks:
    - target: vda
      cache: none
      io: native
      discard: unmap
    - target: vdb  # its place: a merged list keeps the profile's order
    - target: vdc
      format: raw
"""
    + _CDROM
    + """\
  interfaces:
    - network: default
    - bridge: br0
      model: virtio
"""
    + _DISPLAY
)
SPEC_WITH_PROFILE = (
    _HEADER
    + """\
  profiles: [typical]
  memory: {memory}GiB
  vcpus: {vcpus}
  disks:
    - target: vda
      file: {images}/{name}-root.qcow2
    - target: vdb
      file: {images}/{name}-data.qcow2
    - target: vdc
      file: {images}/{name}-scratch.img
  interfaces:  # merged into the profile's by position
    - mac: "{mac0}"
    - mac: "{mac1}"
"""
)


def typical_vm(index: int) -> dict[str, Any]:
    return {
        "name": f"bench-{index:05d}",
        "role": ("web", "db", "cache")[index % 3],
        "tier": ("frontend", "backend")[index % 2],
        "memory": 2 + index % 7,
        "vcpus": 1 + index % 4,
        # QEMU's prefix, then the index: unique up to 16 million VMs.
        "mac0": f"52:54:00:{index >> 16 & 255:02x}:{index >> 8 & 255:02x}:{index & 255:02x}",
        "mac1": f"52:54:01:{index >> 16 & 255:02x}:{index >> 8 & 255:02x}:{index & 255:02x}",
    }


def virt_install_command(vm: dict[str, Any], images: Path) -> list[str]:
    """The same VM for virt-install. test:///default knows only i686 guests of type 'test',
    so no machine type; its disk paths must exist (empty files in ``images``)."""
    name = vm["name"]
    return [
        *("virt-install", "--connect", "test:///default", "--print-xml", "--import"),
        *("--name", name, "--memory", str(vm["memory"] * 1024), "--vcpus", str(vm["vcpus"])),
        *("--osinfo", "linux2022", "--metadata", "description=generated for the benchmark"),
        "--disk",
        f"path={images}/{name}-root.qcow2,bus=virtio,target.dev=vda,format=qcow2,"
        "cache=none,io=native,discard=unmap",
        *("--disk", f"path={images}/{name}-data.qcow2,bus=virtio,target.dev=vdb,format=qcow2"),
        *("--disk", f"path={images}/{name}-scratch.img,bus=virtio,target.dev=vdc,format=raw"),
        "--disk",
        f"path={images}/debian-12.iso,device=cdrom,bus=sata,target.dev=sda,readonly=on",
        *("--network", f"network=default,mac={vm['mac0']}"),
        *("--network", f"bridge=br0,model=virtio,mac={vm['mac1']}"),
        *("--graphics", "vnc,listen=127.0.0.1"),
    ]


def write_specs(folder: Path, count: int, profiles: bool = False) -> None:
    folder.mkdir(parents=True)
    if profiles:  # sorted last, as profiles-*.yaml is in a repo: the VMs wait for it
        (folder / "profiles-typical.yaml").write_text(PROFILE.format(images=IMAGES))
    for index in range(1, count + 1):
        vm = typical_vm(index)
        text = (SPEC_WITH_PROFILE if profiles else SPEC).format(images=IMAGES, **vm)
        (folder / f"{vm['name']}.yaml").write_text(text)


def measure_size(work: Path, count: int, repeat: int, profiles: bool) -> dict[str, Any]:
    specs, current = work / f"specs-{count}", work / f"current-{count}"
    write_specs(specs, count, profiles)
    compile_into = [VMSPEC, "compile", str(specs), "-o"]
    run([*compile_into, str(current)])  # fills the compile cache, and OUT for "current"
    seconds: dict[str, list[float]] = {key: [] for key in MEASURED}
    compile_rss, floor_rss = [], []
    for attempt in range(repeat):
        fresh = work / f"new-{count}-{attempt}"
        seconds["compile_new"].append(run([*compile_into, str(fresh)]).seconds)
        shutil.rmtree(fresh)
        seconds["compile_current"].append(run([*compile_into, str(current)]).seconds)
        # A commit that edits one spec: that one is compiled, the others come from the cache.
        _edit_one_spec(specs, count, attempt)
        seconds["compile_one_edit"].append(run([*compile_into, str(current)]).seconds)
        result = run([*compile_into, str(fresh), "--no-cache"], memory=True)
        seconds["full_new"].append(result.seconds)
        compile_rss.append(result.max_rss_bytes)
        shutil.rmtree(fresh)
        seconds["full_current"].append(run([*compile_into, str(current), "--no-cache"]).seconds)
        seconds["floor_read"].append(run([PYTHON, FLOOR, str(specs), str(current)]).seconds)
        result = run([PYTHON, FLOOR, str(specs), str(current), "-o", str(fresh)], memory=True)
        seconds["floor_write"].append(result.seconds)
        floor_rss.append(result.max_rss_bytes)
        if attempt == 0:
            _same_files(fresh, current)  # else the floor is not a floor for this output
        shutil.rmtree(fresh)
    output_bytes = sum(path.stat().st_size for path in current.glob("*.xml"))
    shutil.rmtree(specs)
    shutil.rmtree(current)
    return {
        "specs": count,
        **{f"{key}_s": median(values) for key, values in seconds.items()},
        "compile_max_rss_bytes": max(compile_rss),
        "floor_max_rss_bytes": max(floor_rss),
        "output_bytes": output_bytes,
    }


def _edit_one_spec(specs: Path, count: int, attempt: int) -> None:
    """Another VM each time, its memory one GiB more: its XML changes."""
    vm = typical_vm(1 + attempt * 7919 % count)
    path = specs / f"{vm['name']}.yaml"
    text = path.read_text()
    path.write_text(
        text.replace(f"memory: {vm['memory']}GiB", f"memory: {vm['memory'] + attempt + 1}GiB")
    )


def _same_files(floor: Path, vmspec: Path) -> None:
    names = sorted(path.name for path in vmspec.glob("*.xml"))
    assert names == sorted(path.name for path in floor.glob("*.xml")), "the floor wrote other files"
    for name in names:
        assert (floor / name).read_bytes() == (vmspec / name).read_bytes(), f"{name} differs"


def measure_fixed_cost(work: Path, repeat: int, profiles: bool) -> float:
    """`vmspec compile -o --no-cache` of one spec: start-up and the rest that does not
    grow with N in a full compile."""
    specs = work / "specs-1"
    write_specs(specs, 1, profiles)
    seconds = []
    for attempt in range(repeat + 1):
        fresh = work / f"new-1-{attempt}"
        command = [VMSPEC, "compile", str(specs), "-o", str(fresh), "--no-cache"]
        seconds.append(run(command).seconds)
        shutil.rmtree(fresh)
    return median(seconds[1:])  # the first run warms the OS's caches


def measure_virt_install(work: Path, count: int) -> dict[str, Any]:
    images = work / "images"
    images.mkdir()
    (images / "debian-12.iso").touch()
    seconds = []
    for index in range(1, count + 1):
        vm = typical_vm(index)
        for disk in ("root.qcow2", "data.qcow2", "scratch.img"):
            (images / f"{vm['name']}-{disk}").touch()
        result = run(virt_install_command(vm, images))
        assert b"<domain" in result.stdout, "virt-install printed no domain XML"
        seconds.append(result.seconds)
    return {"vms": count, "per_vm_s": median(seconds), "total_s": sum(seconds)}


def run_benchmark(
    sizes: list[int], repeat: int, virt_install_vms: int, profiles: bool = False
) -> dict[str, Any]:
    sizes = sorted(sizes)
    if len(sizes) < 2:
        raise ValueError("give at least two sizes: growth compares the two largest")
    with tempfile.TemporaryDirectory(prefix="vmspec-bench-") as directory:
        work = Path(directory)
        # A compile cache of this run's own, never the user's (vmspec/compile_cache.py).
        os.environ["XDG_CACHE_HOME"] = str(work / "cache")
        os.environ.pop("VMSPEC_NO_CACHE", None)
        virt_install = measure_virt_install(work, virt_install_vms)
        fixed = measure_fixed_cost(work, repeat, profiles)
        rows = [measure_size(work, count, repeat, profiles) for count in sizes]
    return {"repeat": repeat, "fixed_cost_s": fixed, "virt_install": virt_install, "sizes": rows}


def growth(results: dict[str, Any]) -> tuple[float, float]:
    """Per-spec time of the largest N over the next largest, in a full compile (every
    document compiled): raw, and net of the fixed cost."""
    small, large = results["sizes"][-2], results["sizes"][-1]
    fixed = results["fixed_cost_s"]

    def per_spec(row: dict[str, Any], cost: float) -> float:
        return (row["full_new_s"] - cost) / row["specs"]

    return per_spec(large, 0) / per_spec(small, 0), per_spec(large, fixed) / per_spec(small, fixed)


def memory_growth(results: dict[str, Any]) -> float:
    """Extra max RSS from the next largest N to the largest, per extra byte of XML held
    (a full compile: the config objects of every document are made)."""
    small, large = results["sizes"][-2], results["sizes"][-1]
    extra_rss = large["compile_max_rss_bytes"] - small["compile_max_rss_bytes"]
    return extra_rss / (large["output_bytes"] - small["output_bytes"])


def goals(results: dict[str, Any]) -> list[list[object]]:
    large = results["sizes"][-1]
    n = f"N = {large['specs']:,}"

    def ratios(new: str, current: str) -> tuple[float, float]:
        return (
            large[f"{new}_s"] / large["floor_write_s"],
            large[f"{current}_s"] / large["floor_read_s"],
        )

    cached = (
        *ratios("compile_new", "compile_current"),
        ratios("compile_new", "compile_one_edit")[1],
    )
    full = ratios("full_new", "full_current")
    speedup = results["virt_install"]["per_vm_s"] / (large["full_new_s"] / large["specs"])
    raw, net = growth(results)
    per_byte = memory_growth(results)
    small = results["sizes"][-2]["specs"]
    return [
        goal_line(
            f"compile within 3{TIMES} the floor ({n}), as a repository compiles it again",
            f"{times(cached[0])} (OUT empty), {times(cached[1])} (OUT current), "
            f"{times(cached[2])} (one spec edited, OUT current)",
            max(cached) <= 3,
        ),
        goal_line(
            f"the same with every document compiled (--no-cache, or a first run) ({n})",
            f"{times(full[0])} (OUT empty, floor writing), {times(full[1])} (OUT current, floor not writing)",
            max(full) <= 3,
        ),
        goal_line(
            f"≥ 300{TIMES} faster per VM than virt-install, every document compiled ({n})",
            times(speedup, 0),
            speedup >= 300,
        ),
        goal_line(
            f"linear: per-spec time {large['specs']:,} / {small:,} ≤ 1.2 (full compile)",
            f"{net:.2f} net of the fixed cost of one spec ({raw:.2f} raw)",
            net <= 1.2,
        ),
        goal_line(
            f"memory grows only with the output held (extra RSS ≤ 1.5{TIMES} the extra XML)",
            f"{per_byte:.2f} bytes of RSS per byte of XML, {small:,} → {large['specs']:,} specs",
            per_byte <= 1.5,
        ),
    ]


def report(results: dict[str, Any]) -> str:
    per_vm_virt_install = results["virt_install"]["per_vm_s"]
    cached, full, memory = [], [], []
    for row in results["sizes"]:
        count = row["specs"]
        cached.append(
            [
                f"{count:,}",
                duration(row["compile_new_s"]),
                times(row["compile_new_s"] / row["floor_write_s"]),
                duration(row["compile_current_s"]),
                times(row["compile_current_s"] / row["floor_read_s"]),
                duration(row["compile_one_edit_s"]),
                times(row["compile_one_edit_s"] / row["floor_read_s"]),
                duration(row["floor_write_s"]),
                duration(row["floor_read_s"]),
            ]
        )
        full.append(
            [
                f"{count:,}",
                duration(row["full_new_s"]),
                f"{count / row['full_new_s']:,.0f}",
                times(row["full_new_s"] / row["floor_write_s"]),
                duration(row["full_current_s"]),
                times(row["full_current_s"] / row["floor_read_s"]),
                f"{row['full_new_s'] / count * 1000:.2f} ms",
                times(per_vm_virt_install / (row["full_new_s"] / count), 0),
            ]
        )
        memory.append(
            [
                f"{count:,}",
                mib(row["compile_max_rss_bytes"]),
                mib(row["floor_max_rss_bytes"]),
                mib(row["output_bytes"]),
            ]
        )
    virt_install = results["virt_install"]
    return "\n\n".join(
        [
            f"### Compile again, with the compile cache (median of {results['repeat']} runs each)",
            markdown_table(
                [
                    "specs",
                    "OUT empty",
                    "ratio",
                    "OUT current",
                    "ratio",
                    "one spec edited",
                    "ratio",
                    "floor, writing",
                    "floor, not writing",
                ],
                cached,
            ),
            "### Every document compiled (--no-cache)",
            markdown_table(
                [
                    "specs",
                    "OUT empty",
                    "specs/s",
                    "ratio",
                    "OUT current",
                    "ratio",
                    "per VM",
                    "vs virt-install",
                ],
                full,
            ),
            f"virt-install --print-xml: {duration(per_vm_virt_install)} per VM "
            f"(median of {virt_install['vms']} calls). `vmspec compile -o --no-cache` of one "
            f"spec: {duration(results['fixed_cost_s'])}, "
            f"{times(per_vm_virt_install / results['fixed_cost_s'], 1)} faster call for call. "
            "Per VM: the whole CLI's time over N. Ratios: to the floor writing (OUT empty) or "
            "not writing (OUT current).",
            "### Peak memory (max RSS of the process, full compile)",
            markdown_table(["specs", "vmspec compile", "floor, writing", "XML written"], memory),
            goal_table(goals(results)),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    parser.add_argument("--sizes", type=int, nargs="+", help=f"default {FULL['sizes']}")
    parser.add_argument("--repeat", type=int, help=f"runs per measurement ({FULL['repeat']})")
    parser.add_argument(
        "--virt-install-vms",
        type=int,
        help=f"VMs through virt-install ({FULL['virt_install_vms']})",
    )
    parser.add_argument(
        "--profiles", action="store_true", help="the specs share a profile (kind: Profile)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    arguments = parser.parse_args()
    settings = QUICK if arguments.quick else FULL
    results = run_benchmark(
        **{key: getattr(arguments, key) or default for key, default in settings.items()},
        profiles=arguments.profiles,
    )
    print(report(results))
    if arguments.json:
        arguments.json.write_text(json.dumps({"machine": machine(), "compile": results}, indent=2))


if __name__ == "__main__":
    main()
