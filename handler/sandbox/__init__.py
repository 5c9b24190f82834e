"""Per-VMI sandboxes of embedded mode: directory, network namespace, cgroup, device grants.

`Sandbox` (sandbox.py) is the API; cgroups.py owns cgroupfs (v1 and v2),
netns.py the named network namespace (through handler/net), enter.py the child-side
steps between fork and exec, devices.py the launcher user's access to
/dev/net/tun and /dev/kvm. See docs/sandbox.md.
"""

from handler.sandbox.cgroups import Hierarchies, Limits, detect
from handler.sandbox.sandbox import Sandbox, netns_name

__all__ = ["Hierarchies", "Limits", "Sandbox", "detect", "netns_name"]
