"""Many libvirt hosts from one repo: the inventory and where each spec goes.

Pure: no libvirt here. ``vmspec.host.fleet`` connects to the hosts and plans them.
"""
