"""The per-VM process (KubeVirt's virt-launcher).

Owns one guest: a private libvirt daemon, the VMI-to-domain conversion, the
command server, the event notifier, the DHCP responder and the console. Never
acts on host-wide resources and never imports controller/, apiserver/ or
virtctl/. gRPC's fork handlers are off (see handler/__init__.py): the launcher
starts libvirtd while its gRPC server threads run.
"""

import os

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
