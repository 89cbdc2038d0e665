"""Talking to libvirt: connection and credentials, host facts, the live domains,
plan and apply. The only package that imports libvirt-python; the compiler never does."""
