"""cloudInit.userData and cloudInit.networkConfig are the user's own cloud-init data:
vmspec's rules for its own fields (no fractions anywhere) do not reach into them."""

from __future__ import annotations

import yaml

from tests.conftest import MINIMAL_SPEC
from vmspec.load import load_text
from vmspec.schema import validate_document
from vmspec.seed.nocloud import render_user_data

CLOUD_INIT = """\
  cloudInit:
    pool: default
    userData:
      power_state: {mode: reboot, delay: now, timeout: 30.5}
      custom: {ratio: 0.75, values: [1.5, 2.25], deep: {deeper: {scale: 1e-3}}}
    networkConfig:
      version: 2
      ethernets: {eth0: {dhcp4: true, dhcp4-overrides: {route-metric: 100}, ratio: 2.5}}
"""


def problems_for(text: str) -> list[str]:
    documents, problems = load_text(text, "vm.yaml")
    assert problems == []
    return [
        f"{problem.line}:{problem.column} {problem.message}"
        for problem in validate_document(documents[0])
    ]


def test_decimals_in_user_data_and_network_config_are_accepted():
    assert problems_for(MINIMAL_SPEC + CLOUD_INIT) == []


def test_decimals_reach_the_seed_as_the_user_wrote_them():
    documents, _ = load_text(MINIMAL_SPEC + CLOUD_INIT, "vm.yaml")
    user_data = documents[0].data["spec"]["cloudInit"]["userData"]
    rendered = render_user_data(user_data)
    assert rendered.startswith("#cloud-config\n")
    assert yaml.safe_load(rendered) == user_data
    assert yaml.safe_load(rendered)["custom"]["ratio"] == 0.75


def test_a_decimal_in_vmspecs_own_fields_is_still_refused():
    spec = MINIMAL_SPEC.replace("vcpus: 1", "vcpus: 2.0")
    assert problems_for(spec + CLOUD_INIT) == ["8:10 expected a whole number, found 2.0"]


def test_meta_data_stays_a_mapping_of_strings():
    # meta-data has a few keys cloud-init reads (instance-id, local-hostname), all text.
    meta_data = "  cloudInit:\n    pool: default\n    metaData: {weight: 0.5}\n"
    (problem,) = problems_for(MINIMAL_SPEC + meta_data)
    assert problem.startswith("11:24 expected a string, found the number 0.5")
