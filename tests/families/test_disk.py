"""The disk family: what its modules state apart from lowering (which cannot be imported
by a family) still agrees with lowering."""

from __future__ import annotations

import uuid

from vmspec.families.disk.secrets import SECRET_UUID_NAMESPACE
from vmspec.lower.identity import DOMAIN_UUID_NAMESPACE


def test_the_secret_namespace_is_derived_from_the_domain_namespace():
    # Written out in vmspec.families.disk.secrets; a change would move every secret apply has defined.
    assert uuid.uuid5(DOMAIN_UUID_NAMESPACE, "Secret") == SECRET_UUID_NAMESPACE
