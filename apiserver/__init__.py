"""The embedded Kubernetes-compatible API for single-machine mode.

Owns the SQLite store, discovery, CRUD, watch and the status subresource, and
calls controller admission on writes. Built in a later issue; the package
exists so the layout and its import contracts hold.
"""
