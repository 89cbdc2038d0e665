"""Comparing: a spec's domain with what libvirt stores or runs, field by field, in
libvirt's words, and the plan model that says what would change. Pure: no libvirt
connection, no I/O; lifting (import) and the host side (plan, apply) both build on it."""
