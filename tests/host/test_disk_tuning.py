"""Disk I/O limits, network credentials and encryption on the real libvirtd: a TCG guest
runs from a LUKS image with limits, its passphrase put into a libvirt secret by apply; an
rbd disk's cephx key the same way (defined, not started: there is no Ceph here); no
output names either secret, and a second plan shows no changes."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.host.conftest import SYSTEM_URI, TEST_PREFIX, guest_spec, libvirt, vmspec, write
from vmspec.families.disk.secrets import secret_uuid
from vmspec.lower.identity import domain_uuid

PASSPHRASE = "luks-Pass-7f3e!"
CEPH_KEY = "AQBcephxKeyNotARealOne0000000000000000=="


def _images() -> Path:
    # QEMU runs as libvirt-qemu and cannot reach into pytest's private /tmp folder.
    Path("/var/lib/libvirt/images").mkdir(parents=True, exist_ok=True)
    images = Path(tempfile.mkdtemp(prefix=TEST_PREFIX, dir="/var/lib/libvirt/images"))
    images.chmod(0o755)
    return images


def _luks_image(path: Path) -> None:
    subprocess.run(
        [
            "qemu-img", "create", "-q", "-f", "luks",
            "--object", f"secret,id=sec0,data={PASSPHRASE}",
            "-o", "key-secret=sec0", str(path), "16M",
        ],
        check=True,
    )  # fmt: skip


def _remove_secrets(system, *uuids: str) -> None:
    for uuid in uuids:
        # Not there when the test failed before apply defined it.
        with contextlib.suppress(libvirt.libvirtError):
            system.secretLookupByUUIDString(uuid).undefine()


def test_a_limited_luks_disk_runs_and_an_rbd_key_is_defined_with_no_secret_shown(system, tmp_path):
    images = _images()
    image = images / "data.img"
    _luks_image(image)
    key_file = tmp_path / "ceph.key"
    key_file.write_text(CEPH_KEY + "\n")
    limits = "{totalBytesSec: 10485760, readIopsSec: 400, writeIopsSec: 200, writeIopsSecMax: 800, groupName: data}"
    specs = tmp_path / "specs"
    specs.mkdir()
    running = guest_spec(
        "luks",
        f"""\
        disks:
          - target: vda
            file: {image}
            format: raw
            iotune: {limits}
            encryption: {{secretEnv: VMSPEC_TEST_LUKS}}
        """,
    )
    defined = guest_spec(
        "rbd",
        f"""\
        disks:
          - target: vda
            network: {{protocol: rbd, name: vms/rbd, hosts: [{{name: 127.0.0.1, port: 6789}}]}}
            auth: {{username: libvirt, secretFile: {key_file}}}
        """,
        state="stopped",
    )
    write(specs, "luks", running)
    write(specs, "rbd", defined)
    env = {"VMSPEC_TEST_LUKS": PASSPHRASE}
    uuids = (
        secret_uuid(domain_uuid(f"{TEST_PREFIX}luks"), "vda", "encryption"),
        secret_uuid(domain_uuid(f"{TEST_PREFIX}rbd"), "vda", "auth"),
    )
    try:
        outputs = [
            vmspec("compile", str(specs), "-o", str(tmp_path / "out")),
            vmspec("plan", "-c", SYSTEM_URI, str(specs), env=env),
            vmspec("plan", "--output", "json", "-c", SYSTEM_URI, str(specs), env=env),
            vmspec("apply", "-c", SYSTEM_URI, str(specs), env=env),
            vmspec("plan", "-c", SYSTEM_URI, str(specs), env=env),
        ]
        assert [result.returncode for result in outputs] == [0, 2, 2, 0, 0], [
            r.stdout + r.stderr for r in outputs
        ]
        assert f"secret {uuids[0]} (encryption of vda) set" in outputs[3].stdout
        assert f"secret {uuids[1]} (auth of vda) set" in outputs[3].stdout
        domain = system.lookupByName(f"{TEST_PREFIX}luks")
        assert domain.isActive()  # QEMU opened the LUKS image: the secret holds the passphrase
        assert "<write_iops_sec_max>800</write_iops_sec_max>" in domain.XMLDesc(0)
        assert system.secretLookupByUUIDString(uuids[1]).usageID().endswith("/vda/auth")

        # A diff: other limits are a change of the definition, shown without any secret.
        write(specs, "luks", running.replace("readIopsSec: 400", "readIopsSec: 300"))
        diff = vmspec("plan", "-c", SYSTEM_URI, str(specs), env=env)
        assert diff.returncode == 2 and "read_iops_sec" in diff.stdout, diff.stdout
        outputs.append(diff)
        outputs.append(vmspec("import", "-c", SYSTEM_URI, f"{TEST_PREFIX}rbd"))

        # A disk that no longer names a secret leaves none behind; nor does a deleted VM.
        write(
            specs,
            "rbd",
            defined.replace(f"auth: {{username: libvirt, secretFile: {key_file}}}", ""),
        )
        outputs.append(vmspec("apply", "-c", SYSTEM_URI, str(specs), env=env))
        assert outputs[-1].returncode == 0, outputs[-1].stdout + outputs[-1].stderr
        assert f"secret {uuids[1]} (auth of vda) removed" in outputs[-1].stdout
        assert "(encryption of vda) removed" not in outputs[-1].stdout  # luks still names it
        (specs / "rbd.yaml").unlink()
        outputs.append(vmspec("destroy", "-c", SYSTEM_URI, "--yes", str(specs), env=env))
        assert outputs[-1].returncode == 0, outputs[-1].stdout + outputs[-1].stderr
        assert f"secret {uuids[0]} (encryption of vda) removed" in outputs[-1].stdout
        left = {secret.UUIDString() for secret in system.listAllSecrets(0)}
        assert not left & set(uuids)
        for result in outputs:
            for secret in (PASSPHRASE, CEPH_KEY):
                assert secret not in result.stdout + result.stderr
    finally:
        _remove_secrets(system, *uuids)
        shutil.rmtree(images)


def test_a_missing_secret_refuses_the_domain_before_anything_is_defined(system, tmp_path):
    spec = write(
        tmp_path,
        "nokey",
        guest_spec(
            "nokey",
            """\
            disks:
              - target: vda
                network: {protocol: rbd, name: vms/x, hosts: [{name: 127.0.0.1}]}
                auth: {username: libvirt, secretEnv: VMSPEC_TEST_NO_SUCH_KEY}
            """,
            state="stopped",
        ),
    )
    refused = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert refused.returncode == 1
    assert "the environment variable VMSPEC_TEST_NO_SUCH_KEY is not set" in refused.stdout
    assert f"{TEST_PREFIX}nokey" not in {domain.name() for domain in system.listAllDomains()}
