"""The numa, numatune, currentMemory and maxMemory families on import: what libvirt
writes itself (QEMU's default model around cells, strict, its own CPU lists) is no
loss; what the spec cannot say (cells not numbered 0 to N-1, memory
the cells do not add up to) is reported, never quietly changed."""

from __future__ import annotations

from vmspec.lift.sources import lift_xml

DEFAULT_CPU = (
    "<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model>"
)


def domain(inside: str, *, memory: int = 131072, cells: str = "", vcpus: int = 2) -> str:
    return (
        f"<domain type='qemu'><name>numa</name><memory unit='KiB'>{memory}</memory>"
        f"<vcpu>{vcpus}</vcpu>{inside}<os><type arch='x86_64' machine='pc'>hvm</type></os>"
        f"{DEFAULT_CPU}<numa>{cells}</numa></cpu></domain>"
    )


TWO_CELLS = (
    "<cell id='0' cpus='0' memory='65536' unit='KiB'/>"
    "<cell id='1' cpus='1' memory='65536' unit='KiB'/>"
)


def test_cells_in_libvirts_default_cpu_import_without_loss():
    numatune = (
        "<numatune><memory mode='strict' nodeset='0'/>"
        "<memnode cellid='1' mode='preferred' nodeset='0'/></numatune>"
        "<maxMemory slots='4' unit='KiB'>1048576</maxMemory>"
        "<currentMemory unit='KiB'>98304</currentMemory>"
    )
    lifted = lift_xml(domain(numatune, cells=TWO_CELLS), "numa")
    assert lifted.dropped == ()
    spec = lifted.document["spec"]
    assert spec["numa"] == [{"cpus": "0", "memory": "64MiB"}, {"cpus": "1", "memory": "64MiB"}]
    assert spec["numatune"] == {
        "nodeset": "0",
        "memnodes": [{"cellid": 1, "mode": "preferred", "nodeset": "0"}],
    }
    assert spec["maxMemory"] == {"size": "1GiB", "slots": 4}
    assert spec["currentMemory"] == "96MiB"
    assert "cpu" not in spec


def test_cells_out_of_order_import_in_id_order_as_libvirt_stores_them():
    cells = (
        "<cell id='1' cpus='1' memory='65536' unit='KiB'/>"
        "<cell id='0' cpus='0' memory='131072' unit='KiB'/>"
    )
    lifted = lift_xml(domain("", memory=196608, cells=cells), "numa")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["numa"] == [
        {"cpus": "0", "memory": "128MiB"},
        {"cpus": "1", "memory": "64MiB"},
    ]


def test_cells_not_numbered_from_0_are_reported():
    cells = (
        "<cell id='1' cpus='0' memory='65536' unit='KiB'/>"
        "<cell id='2' cpus='1' memory='65536' unit='KiB'/>"
    )
    lifted = lift_xml(domain("", cells=cells), "numa")
    assert any("/domain/cpu/numa/cell/@id: 1,2" in dropped for dropped in lifted.dropped)


def test_numads_placement_imports_as_placement_auto():
    numatune = "<numatune><memory mode='preferred' placement='auto'/></numatune>"
    lifted = lift_xml(domain(numatune, cells=TWO_CELLS), "numa")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["numatune"] == {"mode": "preferred", "placement": "auto"}


def test_vcpus_placed_by_numad_import_as_cpuset_auto_with_the_memory_placement_implied():
    # libvirt writes numad's memory placement itself for a guest whose vCPUs numad places.
    numatune = "<numatune><memory mode='strict' placement='auto'/></numatune>"
    xml = domain(numatune, cells=TWO_CELLS).replace("<vcpu>", "<vcpu placement='auto'>")
    lifted = lift_xml(xml, "numa")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["cpuset"] == "auto"
    assert "numatune" not in lifted.document["spec"]


def test_a_placement_libvirt_does_not_know_is_reported():
    numatune = "<numatune><memory mode='strict' placement='numad'/></numatune>"
    lifted = lift_xml(domain(numatune, cells=TWO_CELLS), "numa")
    assert any("/domain/numatune/memory/@placement: numad" in d for d in lifted.dropped)


def test_memory_the_cells_do_not_add_up_to_is_refused():
    lifted = lift_xml(domain("", memory=262144, cells=TWO_CELLS), "numa")
    assert lifted.document == {}
    assert any("the cells hold 128MiB together" in dropped for dropped in lifted.dropped)
