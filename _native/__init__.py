"""Cython hot paths, each with a pure-Python twin of identical behaviour."""
