"""Helpers shared by the recipes' ``local/`` scripts (download, manifests, stand-in corpora).

The scripts put the ``recipes/`` folder on ``sys.path`` and import
``common.corpus`` / ``common.standin``; nothing in ``wavekit`` imports this.
"""
