"""The node daemon (KubeVirt's virt-handler).

Owns host plumbing on one node: sandboxes, networking (net/), devices
(devices/), launcher processes, migration proxy, heartbeat and metrics. Talks
to the cluster only through API objects and to launchers only through
protos/launcher/v1. Never imports controller/, apiserver/ or virtctl/.
Built in a later issue; the package exists so the layout and its import
contracts hold from the start.
"""
