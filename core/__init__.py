"""The segmentation engine: read, map, clean, RFM, tiers, clusters, insights, store, CLI.

Never imports streamlit (tests/core/test_layers.py enforces it).
"""
