"""The cluster-scope control plane: admission of API objects and, later, the
controllers that turn VirtualMachines and pools into running instances.

Owns everything that decides about API objects before and after they are
stored. Talks to nodes only through the API; never imports handler, launcher,
apiserver or virtctl (an import-linter contract in pyproject.toml says so).
"""
