"""Corpus builders' shared code (``preparation``) and the ListOps task (``listops``).

Used by ``scripts/prepare_*.py``; nothing in the attention, modules or models packages imports it.
"""
