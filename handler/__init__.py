"""The node daemon (KubeVirt's virt-handler).

Owns host plumbing on one node: sandboxes, networking (net/), storage
(storage/), launcher processes, heartbeat, events and metrics. Talks to the
cluster only through API objects and to launchers only through
protos/launcher/v1. Never imports apiserver/ or virtctl/, nor the controller
beyond its key-only work queue.

The handler forks helpers (qemu-img, nft, the launcher in its sandbox) while
gRPC threads follow launchers. gRPC's fork handlers then run in a child whose
gRPC state was copied mid-call and crash it (SIGSEGV/SIGBUS before exec), so
they are switched off before grpc is first imported; no child here uses gRPC
before it execs.
"""

import os

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
