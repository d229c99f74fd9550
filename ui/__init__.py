"""Streamlit-only helpers: session state and cached engine calls (state), rendering (render)."""
