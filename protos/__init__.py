"""The versioned contracts between virtnode's components.

Owns the .proto sources, their committed generated modules, and the codec that
maps kubevirt.io JSON/YAML documents to messages with path-precise errors.
Imports nothing from the other top-level packages; everything may import it.
"""
