"""Seed media for cloud-init: the NoCloud ISO (label ``cidata``), built in memory."""

from vmspec.seed.nocloud import render_meta_data, render_user_data, seed_iso

__all__ = ["render_meta_data", "render_user_data", "seed_iso"]
