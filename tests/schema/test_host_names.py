"""Host names (a network disk's hosts, a pool's source host) and display listen addresses
against libvirt's own schema: whatever vmspec accepts, libvirt's RelaxNG patterns take."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MINIMAL_SPEC
from vmspec.load import load_text
from vmspec.schema import validate_document

BASICTYPES = Path("/usr/share/libvirt/schemas/basictypes.rng")


def rng_pattern(define: str) -> re.Pattern[str]:
    """A <data> pattern of libvirt's basictypes.rng: the oracle, not vmspec's own rule."""
    text = BASICTYPES.read_text()
    found = re.search(
        rf'<define name="{define}">.*?<param name="pattern">(.*?)</param>', text, re.S
    )
    assert found, f"basictypes.rng has no pattern for {define}"
    return re.compile(found.group(1))


# A network disk's <host name> and a pool's <host name> take dnsName or ipAddr; a
# display's listen takes an ipAddr (and a dnsName, which vmspec does not offer).
LIBVIRT_IP_PATTERNS = [rng_pattern("ipv4Addr"), rng_pattern("ipv6Addr")]
LIBVIRT_HOST_PATTERNS = [rng_pattern("dnsName"), *LIBVIRT_IP_PATTERNS]


def libvirt_takes_host(text: str) -> bool:
    return any(pattern.fullmatch(text) for pattern in LIBVIRT_HOST_PATTERNS)


def libvirt_takes_ip_address(text: str) -> bool:
    return any(pattern.fullmatch(text) for pattern in LIBVIRT_IP_PATTERNS)


def problems_for(extra: str) -> list[str]:
    documents, problems = load_text(MINIMAL_SPEC + extra, "vm.yaml")
    assert problems == []
    return [problem.message for problem in validate_document(documents[0])]


def host_problems(name: str) -> list[str]:
    disk = f"  disks: [{{target: vda, network: {{protocol: nbd, name: x, hosts: [{{name: '{name}'}}]}}}}]\n"
    return problems_for(disk)


def listen_problems(address: str) -> list[str]:
    return problems_for(f"  graphics: [{{type: vnc, listen: '{address}'}}]\n")


@pytest.mark.parametrize(
    "name",
    ["00000000000000000000000:", "1::2:10.0.0.5", "a:b", ":", ":::", "1:2:3:4:5:6:7:8:9", "::1%lo"],
)
def test_a_host_that_looks_like_an_ip_address_but_is_none_is_refused(name):
    assert not libvirt_takes_host(name)  # the oracle agrees that libvirt refuses it
    problems = host_problems(name)
    assert problems, name
    assert any("DNS name" in message for message in problems), problems


@pytest.mark.parametrize(
    "name",
    ["nbd1.example.org", "10.0.0.5", "::1", "fe80::1", "::ffff:10.0.0.5", "1:2:3:4:5::10.0.0.5"],
)
def test_dns_names_and_ip_addresses_are_hosts(name):
    assert host_problems(name) == []


# Text shaped like addresses: hex digits, ':' and '.' in any order (what the schema's own
# pattern lets through), and real IPv6 addresses written each way Python knows.
ADDRESS_LIKE = st.one_of(
    st.text(alphabet="0123456789abcdefABCDEF:.", min_size=1, max_size=45),
    st.ip_addresses(v=6).map(str),
    st.ip_addresses(v=6).map(lambda address: address.exploded),
    st.builds(
        lambda groups, ipv4: f"{groups}:{ipv4}",
        st.ip_addresses(v=6).map(lambda address: str(address).rsplit(":", 2)[0]),
        st.ip_addresses(v=4).map(str),
    ),
)


def test_every_address_vmspec_accepts_libvirt_accepts():
    accepted = {"host": 0, "listen": 0}

    @settings(max_examples=500, derandomize=True, database=None, deadline=None)
    @given(text=ADDRESS_LIKE)
    def check(text):
        if not host_problems(text):
            assert libvirt_takes_host(text), text
            accepted["host"] += 1
        if not listen_problems(text):
            assert libvirt_takes_ip_address(text), text
            accepted["listen"] += 1

    check()
    # Guards the generator: drawing only refusals would prove nothing.
    assert min(accepted.values()) >= 50, accepted
