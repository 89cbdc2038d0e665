"""vmspec: declarative YAML specs compiled to canonical libvirt domain XML.

The pipeline is the package layout: ``load`` (YAML with source positions) →
``schema`` (JSON Schema and semantic checks) → ``lower`` (spec → config objects,
with the policy defaults) → ``config`` (one module per libvirt element family,
which emits and parses XML) → ``compile`` (the whole pipeline for files and
directories). The CLI sits on top and nothing imports it.
"""

__version__ = "0.1.0"
