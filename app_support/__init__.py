"""Streamlit-side helpers: cached wrappers over hiexplore functions and URL state (no logic)."""
