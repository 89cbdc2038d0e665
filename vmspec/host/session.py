"""One plan against one host: read the host's facts and domains once, lower the specs
for that host, compare. What the CLI and the tests call."""

from __future__ import annotations

from vmspec.host.connection import Host
from vmspec.host.facts import host_facts
from vmspec.host.inventory import read_live_domains
from vmspec.host.plan import Options, Plan, desired_from_document, make_plan
from vmspec.load import SourceDocument


def plan_documents(host: Host, documents: list[SourceDocument], options: Options) -> Plan:
    capabilities = host.call("reading host capabilities", None, lambda c: c.getCapabilities())
    facts = host_facts(capabilities)
    live = read_live_domains(host)
    desired = [desired_from_document(document.data, document.file, facts) for document in documents]
    uri = host.call("reading the URI", None, lambda c: c.getURI())
    return make_plan(uri, facts, desired, live, options)
