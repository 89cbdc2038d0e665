"""Display passwords: from a file or the environment into libvirt, and into no output."""

from __future__ import annotations

from tests.host.conftest import SYSTEM_URI, TEST_PREFIX, guest_spec, libvirt, vmspec, write

VNC_SECRET = "Vn9!x#2q"
SPICE_SECRET = "Sp1ce-Passw0rd-42"


def displays(password_file) -> str:
    return (
        "graphics:\n"
        "  - {type: vnc, listen: 127.0.0.1, passwordEnv: VMSPEC_TEST_VNC_PASSWORD}\n"
        f"  - {{type: spice, listen: 127.0.0.1, passwordFile: {password_file}}}\n"
    )


def test_passwords_reach_libvirt_and_no_output(system, tmp_path):
    secret_file = tmp_path / "spice.pw"
    secret_file.write_text(SPICE_SECRET + "\n")
    specs = tmp_path / "specs"
    specs.mkdir()
    write(specs, "pw", guest_spec("pw", displays(secret_file), state="stopped"))
    env = {"VMSPEC_TEST_VNC_PASSWORD": VNC_SECRET}
    outputs = [
        vmspec("compile", str(specs)),
        vmspec("plan", "-c", SYSTEM_URI, str(specs), env=env),
        vmspec("plan", "--output", "json", "-c", SYSTEM_URI, str(specs), env=env),
        vmspec("apply", "-c", SYSTEM_URI, str(specs), env=env),
        vmspec("plan", "-c", SYSTEM_URI, str(specs), env=env),
        vmspec("import", "-c", SYSTEM_URI, f"{TEST_PREFIX}pw"),
    ]
    assert [result.returncode for result in outputs] == [0, 2, 2, 0, 0, 0], [
        r.stdout + r.stderr for r in outputs
    ]
    for result in outputs:
        for secret in (VNC_SECRET, SPICE_SECRET):
            assert secret not in result.stdout + result.stderr
    secure = system.lookupByName(f"{TEST_PREFIX}pw").XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
    assert f"passwd='{VNC_SECRET}'" in secure and f"passwd='{SPICE_SECRET}'" in secure


def test_a_missing_or_unusable_password_refuses_the_domain_without_showing_it(system, tmp_path):
    secret_file = tmp_path / "spice.pw"
    secret_file.write_text(SPICE_SECRET)
    spec = write(tmp_path, "pw", guest_spec("pwmissing", displays(secret_file), state="stopped"))
    missing = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert missing.returncode == 1
    assert (
        "the environment variable VMSPEC_TEST_VNC_PASSWORD is not set"
        in missing.stdout + missing.stderr
    )
    assert f"{TEST_PREFIX}pwmissing" not in {domain.name() for domain in system.listAllDomains()}

    too_long = "longer-than-eight"
    result = vmspec("plan", "-c", SYSTEM_URI, str(spec), env={"VMSPEC_TEST_VNC_PASSWORD": too_long})
    assert result.returncode == 1
    assert "more than 8 characters" in result.stdout
    assert too_long not in result.stdout + result.stderr and SPICE_SECRET not in result.stdout
