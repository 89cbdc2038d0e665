"""A guest with NUMA cells and numatune, started on the real libvirtd (TCG, host node 0):
libvirt stores the CPU and node lists in its own form and writes QEMU's default CPU
model into a <cpu> of cells alone; plan says nothing changed, and the guest runs the
cells the spec names."""

from __future__ import annotations

from tests.host.conftest import TEST_PREFIX, guest_spec, write
from tests.host.test_running_guests import apply_and_see_it_run, assert_plan_is_clean


def test_cells_and_nodesets_in_the_specs_words_plan_clean_on_a_running_guest(system, tmp_path):
    extra = """\
        numa:
          - {cpus: "0,1", memory: 96MiB}
          - {memory: 32MiB}
        numatune:
          nodeset: "0,0"
          memnodes: [{cellid: 1, mode: preferred, nodeset: "0"}]
        """
    text = guest_spec("numa", extra, memory="128MiB", vcpus=2)
    write(tmp_path, "numa", text)
    apply_and_see_it_run(system, tmp_path, "numa")
    stored = system.lookupByName(f"{TEST_PREFIX}numa").XMLDesc(0)
    # libvirt's own words, which plan reads as the spec's.
    assert "<cell id='0' cpus='0-1' memory='98304' unit='KiB'/>" in stored
    assert "<memory mode='strict' nodeset='0'/>" in stored
    assert_plan_is_clean(tmp_path)
