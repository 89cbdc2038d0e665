"""`vmspec schema` in an editor: every field says what it is, and yaml-language-server
(the YAML support of VS Code, Neovim, Helix, Emacs...) validates, completes and explains
every kind with it.

The yaml-language-server tests talk to the real server over LSP: the one named by
$VMSPEC_YAML_LANGUAGE_SERVER, else the pinned one scripts/install puts in .tools/ (CI's),
else one on PATH; they are skipped where there is none.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, vmspec
from vmspec.schema import load_schema
from vmspec.schema.reference import fields


def test_every_kind_has_its_own_metadata_and_spec():
    kinds = load_schema()["properties"]["kind"]["enum"]
    assert {path.partition(":")[0] for path, _ in fields(load_schema())} == set(kinds)


# --- yaml-language-server --------------------------------------------------------------

PINNED_SERVER = REPO / ".tools/yaml-language-server/node_modules/.bin/yaml-language-server"
# The pinned one before PATH's: docs/editors.md names the version these tests checked.
SERVER = (
    os.environ.get("VMSPEC_YAML_LANGUAGE_SERVER")
    or (str(PINNED_SERVER) if PINNED_SERVER.exists() else None)
    or shutil.which("yaml-language-server")
)
NO_SERVER = (
    "yaml-language-server is not installed: scripts/install puts it in .tools/ where npm"
    " and Node.js 20.11 or newer are, or name one in $VMSPEC_YAML_LANGUAGE_SERVER"
)
needs_server = pytest.mark.skipif(SERVER is None, reason=NO_SERVER)

# Each kind: a valid spec, a field completion offers under spec:, one it must not offer
# (another kind's), and a typo.
KINDS = {
    "VirtualMachine": (
        "spec:\n  domainType: kvm\n  memory: 1GiB\n  vcpus: 1\n",
        "vcpus",
        "hosts",
        "  memroy: 1GiB\n",
    ),
    "StoragePool": (
        "spec:\n  type: dir\n  path: /srv/images\n",
        "autostart",
        "domainType",
        "  autstart: true\n",
    ),
    "Network": ("spec:\n  forward: isolated\n", "forward", "domainType", "  fowrard: nat\n"),
    "Inventory": (
        "spec:\n  hosts: [{name: a, uri: 'qemu:///system'}]\n",
        "hosts",
        "domainType",
        "  host: a\n",
    ),
}


class LanguageServer:
    """Just enough of an LSP client: requests, notifications, and the server's own
    requests answered (it asks for its settings)."""

    def __init__(
        self, command: list[str], root: Path | None = None, schemas: dict | None = None
    ) -> None:
        yaml_settings = {"validate": True, "hover": True, "completion": True}
        self.settings = {"yaml": {**yaml_settings, "schemas": schemas or {}}}
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.inbox: queue.Queue = queue.Queue()
        self.last_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        workspace = {
            "rootUri": root.as_uri() if root else None,
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}] if root else None,
        }
        self.request("initialize", {"processId": None, **workspace, "capabilities": {}})
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": self.settings})

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                return
            self.inbox.put(json.loads(stream.read(length)))

    def _send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def notify(self, method: str, params: dict) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: dict):
        self.last_id += 1
        asked = self.last_id
        self._send({"id": asked, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == asked and "method" not in m)["result"]

    def wait(self, wanted, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while True:
            message = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            if "method" in message and "id" in message:
                items = message["params"].get("items", [])
                answer = [self.settings.get(item.get("section")) for item in items] or None
                self._send({"id": message["id"], "result": answer})
            elif wanted(message):
                return message

    def open(self, uri: str, text: str) -> list[tuple[int, str]]:
        """Open a document; its diagnostics as (line, message)."""
        document = {"uri": uri, "languageId": "yaml", "version": 1, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": document})
        published = self.wait(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
            )
        )
        return [
            (d["range"]["start"]["line"], d["message"]) for d in published["params"]["diagnostics"]
        ]

    def at(self, method: str, uri: str, line: int, character: int):
        position = {"line": line, "character": character}
        return self.request(method, {"textDocument": {"uri": uri}, "position": position})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if SERVER is None:
        pytest.skip(NO_SERVER)
    schema = tmp_path_factory.mktemp("schema") / "vmspec.schema.json"
    result = vmspec("schema")
    assert result.returncode == 0
    schema.write_text(result.stdout)
    client = LanguageServer([SERVER, "--stdio"])
    client.modeline = f"# yaml-language-server: $schema={schema.as_uri()}\n"
    yield client
    client.process.kill()
    client.process.wait()


def document(kind: str, body: str) -> str:
    return f"apiVersion: vmspec/v1\nkind: {kind}\nmetadata:\n  name: x\n{body}"


@needs_server
@pytest.mark.parametrize("kind", KINDS)
def test_the_server_finds_a_typo_and_nothing_else_in_each_kind(server, kind, tmp_path):
    valid, _, _, typo = KINDS[kind]
    assert (
        server.open((tmp_path / "ok.yaml").as_uri(), server.modeline + document(kind, valid)) == []
    )
    text = server.modeline + document(kind, valid + typo)
    field = typo.split(":")[0].strip()
    line = text.count("\n") - 1
    assert server.open((tmp_path / "bad.yaml").as_uri(), text) == [
        (line, f"Property {field} is not allowed.")
    ]


@needs_server
@pytest.mark.parametrize("kind", KINDS)
def test_completion_under_spec_offers_the_fields_of_that_kind(server, kind, tmp_path):
    valid, offered, not_offered, _ = KINDS[kind]
    # Completion on an empty line below spec: (the valid fields without the offered one).
    kept = "".join(line for line in valid.splitlines(True) if not line.startswith(f"  {offered}:"))
    text = server.modeline + document(kind, kept + "  \n")
    uri = (tmp_path / "complete.yaml").as_uri()
    server.open(uri, text)
    result = server.at("textDocument/completion", uri, text.count("\n") - 1, 2)
    labels = {item["label"] for item in (result["items"] if isinstance(result, dict) else result)}
    assert offered in labels and not_offered not in labels, sorted(labels)


@needs_server
def test_hover_shows_a_fields_description(server, tmp_path):
    text = server.modeline + document("VirtualMachine", KINDS["VirtualMachine"][0])
    uri = (tmp_path / "hover.yaml").as_uri()
    server.open(uri, text)
    memory_line = text.splitlines().index("  memory: 1GiB")
    hover = server.at("textDocument/hover", uri, memory_line, 4)
    assert "a size with its unit" in json.dumps(hover)


def test_the_pinned_server_lock_names_no_registry():
    """Each machine fetches through its own npm configuration (tools/yaml-language-server/
    .npmrc keeps npm from writing `resolved` addresses when the lock is regenerated)."""
    lock = json.loads((REPO / "tools/yaml-language-server/package-lock.json").read_text())
    packages = lock["packages"]
    assert packages["node_modules/yaml-language-server"]["version"] == "2.0.0"
    assert [name for name, package in packages.items() if "resolved" in package] == []
    assert all(package.get("integrity") for name, package in packages.items() if name)


@needs_server
def test_hover_shows_a_fields_title_and_examples(server, tmp_path):
    text = server.modeline + document("VirtualMachine", KINDS["VirtualMachine"][0])
    uri = (tmp_path / "hover-title.yaml").as_uri()
    server.open(uri, text)
    hover = server.at("textDocument/hover", uri, text.splitlines().index("  vcpus: 1"), 4)
    shown = hover["contents"]["value"]
    assert shown.startswith("#### vCPUs\n") and "```yaml\n4\n```" in shown, shown


@needs_server
def test_completion_of_a_value_offers_the_fields_examples(server, tmp_path):
    text = server.modeline + document(
        "VirtualMachine", KINDS["VirtualMachine"][0] + "  machine: \n"
    )
    uri = (tmp_path / "complete-value.yaml").as_uri()
    server.open(uri, text)
    line = text.count("\n") - 1
    result = server.at("textDocument/completion", uri, line, len("  machine: "))
    labels = [item["label"] for item in (result["items"] if isinstance(result, dict) else result)]
    assert "q35" in labels, labels


@needs_server
def test_the_ways_docs_editors_md_names_the_schema_work(tmp_path):
    """A modeline with a path relative to the spec, and VS Code's yaml.schemas setting
    (docs/editors.md's JSON block as it is) with a workspace."""
    guide = (REPO / "docs" / "editors.md").read_text()
    settings = json.loads(guide.split("```json\n")[1].split("```")[0])
    modeline = next(line for line in guide.splitlines() if "yaml-language-server: $schema=" in line)
    (tmp_path / ".vmspec.schema.json").write_text(vmspec("schema").stdout)
    specs = tmp_path / "specs"
    specs.mkdir()
    typo = document("VirtualMachine", KINDS["VirtualMachine"][0] + KINDS["VirtualMachine"][3])
    by_modeline, by_setting = specs / "a.yaml", specs / "b.yaml"
    by_modeline.write_text(modeline + "\n" + typo)
    by_setting.write_text(typo)
    client = LanguageServer([SERVER, "--stdio"], tmp_path, settings["yaml.schemas"])
    try:
        for path in (by_modeline, by_setting):
            found = client.open(path.as_uri(), path.read_text())
            assert [message for _, message in found] == ["Property memroy is not allowed."], path
    finally:
        client.process.kill()
        client.process.wait()
