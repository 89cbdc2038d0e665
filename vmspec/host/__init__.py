"""Talking to libvirt: connection and credentials, the live domains, plan and apply.
The only package that imports libvirt-python; the compiler never does. What a plan
compares with, and the plan model itself, are vmspec/compare's: pure, and shared with lift."""
