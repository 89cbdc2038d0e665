"""Config objects: one module per libvirt element family, plain frozen dataclasses.

Each class declares its XML mapping once (``xmlmap``); the same declaration emits
XML and parses it back, so the two directions cannot drift apart. These modules
know nothing about YAML, specs or libvirt connections.
"""
