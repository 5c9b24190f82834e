"""The node's pod network (embedded mode): host bridge, per-VMI veth, masquerade and bridge bindings.

`PodNetwork` (pod.py) is the API the handler calls; links.py owns links,
addresses and routes (pyroute2), namespaces.py named network namespaces,
nft.py the nftables rules, nsexec.py acting inside a namespace, ipam.py the pod
IP table, spec.py reading the VMI. This package is the only place the handler
imports pyroute2 (an import-linter contract says so). See docs/network.md.
"""

from handler.net.errors import NetworkError, NetworkSpecError
from handler.net.pod import PodAttachment, PodNetwork, choose, host_veth_name

__all__ = ["NetworkError", "NetworkSpecError", "PodAttachment", "PodNetwork", "choose", "host_veth_name"]
