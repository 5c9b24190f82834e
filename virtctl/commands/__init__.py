"""virtctl's cluster commands, one module per family.

`objects` (apply, create -f, get, describe, delete), `lifecycle` (start, stop, restart, pause,
unpause, and console/logs until the node's handler serves them), `createvm` (`create vm`),
`kubeconfig` (`virtctl kubeconfig`). `session` holds the options every cluster command takes and
the wrapper that connects and turns failures into exit codes. Each family has a
`register(subparsers)`; virtctl/cli.py calls them. They reach the cluster only through
virtctl/cluster.py.
"""
