"""`python -m handler`: the node daemon.

Owns the handler process: it registers this machine as a Node and heartbeats
it (handler/node.py), runs the VMI loop (handler/vmi.py) that turns VMIs
assigned here into sandboxed launchers and guests, and serves KubeVirt's VMI
metrics (handler/metrics.py). SIGTERM stops the daemon but not the guests: a
new handler adopts their launchers from the records under the state directory.

    python -m handler --kubeconfig K --state-dir S [--node NAME] [--accelerator emulation]
                      [--image virtnode/test-guest=DIR] [--metrics-port 8443]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import ssl
import sys
import threading
from pathlib import Path

from handler import errors
from handler.client import Client
from handler.metrics import MetricsServer, render
from handler.node import NodeAgent
from handler.vmi import HandlerConfig, VMIHandler

log = logging.getLogger("handler")


def parse_images(values: list[str]) -> dict[str, Path]:
    images = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--image {value!r}: expected IMAGE=DIRECTORY")
        images[name] = Path(path).resolve()
    return images


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m handler", description=__doc__.splitlines()[0])
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--state-dir", required=True, type=Path, help="records and sandboxes (mode 0700)")
    p.add_argument("--run-dir", type=Path, default=Path("/run/virtnode"),
                   help="launcher directories; short, because libvirt's socket paths are limited")
    p.add_argument("--node", default=socket.gethostname())
    p.add_argument("--accelerator", choices=("auto", "kvm", "emulation"), default="auto")
    p.add_argument("--launcher-user", default="virtnode")
    p.add_argument("--image", action="append", default=[], metavar="IMAGE=DIR",
                   help="a containerDisk/kernelBoot image available offline on this node (repeatable)")
    p.add_argument("--unreachable-after", type=float, default=10.0, metavar="SECONDS",
                   help="a live launcher that does not answer this long makes its VMI Unknown")
    p.add_argument("--unreachable-grace", type=float, default=300.0, metavar="SECONDS",
                   help="... and this long makes it Failed (LauncherUnresponsive) and its guest is killed")
    p.add_argument("--socket-dir", type=Path, default=None,
                   help="Kubernetes mode: launchers that kubelet started serve <vmi uid>.sock here; "
                        "the handler adopts them instead of starting its own")
    p.add_argument("--pod-bridge", default="auto", help="the pod network's host bridge (auto: vnN)")
    p.add_argument("--pod-cidr", default="auto",
                   help="the pod network's IPv4 subnet (auto: a free 10.244.N.0/24, kept in the state dir)")
    p.add_argument("--egress", action="store_true",
                   help="let guests reach beyond this machine (host forwarding and NAT of the pod subnet)")
    p.add_argument("--metrics-port", type=int, default=0, help="0: no metrics server")
    p.add_argument("--metrics-address", default="127.0.0.1", help="where the metrics server listens")
    p.add_argument("--metrics-tls-cert", type=Path, help="serve metrics over TLS with this certificate "
                   "(Kubernetes mode; with --metrics-tls-key)")
    p.add_argument("--metrics-tls-key", type=Path)
    p.add_argument("--stop-all", action="store_true",
                   help="stop every guest this node started (graceful, then destroy), clean up, exit")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s level=%(levelname)s component=handler logger=%(name)s msg=%(message)r")
    if os.geteuid() != 0:
        log.error("the handler needs root: it creates network namespaces and cgroups")
        return 2
    if args.stop_all:
        from handler.net import PodNetwork, choose
        from handler.vmi import stop_all

        bridge, cidr = choose(args.state_dir, args.pod_bridge, args.pod_cidr)
        network = PodNetwork(args.state_dir, bridge=bridge, cidr=cidr)
        stopped = stop_all(args.state_dir, network=network)
        network.remove_node()
        log.info("stopped %d guest(s); removed the pod network bridge %s", len(stopped), bridge)
        return 0
    args.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    args.run_dir.mkdir(parents=True, exist_ok=True, mode=0o711)
    # The launcher's unprivileged daemon must traverse these (umask may have narrowed them).
    for directory in (args.run_dir.parent, args.run_dir):
        if directory != Path("/run") and directory.is_dir():
            os.chmod(directory, 0o711)
    client = Client.from_kubeconfig(args.kubeconfig)
    stop = threading.Event()
    emulation = args.accelerator == "emulation"
    agent = NodeAgent(client, args.node, emulation=emulation)
    try:
        agent.register()
    except errors.HandlerError as e:
        log.error("cannot register node %s: %s", args.node, e)
        return 1
    threading.Thread(target=agent.run, args=(stop,), name="heartbeat", daemon=True).start()
    vmis = VMIHandler(client, HandlerConfig(node=args.node, state_dir=args.state_dir, run_dir=args.run_dir,
                                            accelerator=args.accelerator, launcher_user=args.launcher_user,
                                            images=parse_images(args.image),
                                            unreachable_after=args.unreachable_after,
                                            unreachable_grace=args.unreachable_grace,
                                            pod_bridge=args.pod_bridge, pod_cidr=args.pod_cidr,
                                            egress=args.egress, socket_dir=args.socket_dir))
    vmis.start()
    metrics = None
    if args.metrics_port:
        def collect() -> str:
            return render(vmis.samples(), args.node)

        context = None
        if args.metrics_tls_cert or args.metrics_tls_key:
            if not (args.metrics_tls_cert and args.metrics_tls_key):
                log.error("--metrics-tls-cert and --metrics-tls-key go together")
                return 2
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(args.metrics_tls_cert, args.metrics_tls_key)
        metrics = MetricsServer(args.metrics_address, args.metrics_port, collect, ssl_context=context)
        metrics.start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("handler of node %s running; state in %s", args.node, args.state_dir)
    stop.wait()
    log.info("handler stopping; guests keep running and are adopted by the next handler")
    vmis.stop()
    if metrics is not None:
        metrics.stop()
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
