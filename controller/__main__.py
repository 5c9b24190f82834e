"""`python -m controller`: the cluster controller process.

Owns the process around the controllers: it reads a kubeconfig (the embedded
node's, or a real cluster's: the same code), campaigns for the Lease, runs the
controllers (VMs, the embedded scheduler unless --scheduler=off, pools, nodes)
only while it leads, and exits 0 on SIGTERM/SIGINT after
stopping its workers and releasing the Lease so a standby takes over at once.
Leadership lost without being asked to stop (renewals failing for
renew_deadline) stops the controllers and campaigns again with fresh caches.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import uuid

from controller import errors, events
from controller.client import Client
from controller.leader import ElectionConfig, LeaderElector
from controller.nodes import NodeController, NodeControllerConfig
from controller.overhead import ResourceConfig
from controller.poolcontroller import PoolController, PoolControllerConfig
from controller.scheduler import Scheduler, SchedulerConfig
from controller.vm import CrashLoopBackoff, VMController, VMControllerConfig

log = logging.getLogger("controller")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m controller", description=__doc__.splitlines()[0])
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
    p.add_argument("--context", help="kubeconfig context to use")
    p.add_argument("--identity", default=f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}",
                   help="holder identity in the Lease (default: hostname_random)")
    p.add_argument("--namespace", default=None, help="watch only this namespace (default: all)")
    p.add_argument("--lease-namespace", default=os.environ.get("POD_NAMESPACE", "kube-system"))
    p.add_argument("--lease-name", default="virtnode-controller")
    p.add_argument("--lease-duration", type=float, default=15.0)
    p.add_argument("--renew-deadline", type=float, default=10.0)
    p.add_argument("--retry-period", type=float, default=2.0)
    p.add_argument("--resync-period", type=float, default=300.0, help="seconds between full resyncs")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--crashloop-base", type=float, default=10.0,
                   help="seconds before the restart after the first failed start (doubles per failure)")
    p.add_argument("--crashloop-cap", type=float, default=300.0, help="longest crash-loop backoff, seconds")
    p.add_argument("--scheduler", choices=["on", "off"], default="on",
                   help="place VMIs on Nodes (embedded mode); off where kube-scheduler places launcher pods")
    p.add_argument("--use-emulation", action="store_true",
                   help="VMIs need no devices.kubevirt.io/kvm on their node (KubeVirt's useEmulation)")
    p.add_argument("--node-timeout", type=float, default=300.0,
                   help="seconds without a heartbeat before a node is unresponsive and its VMIs fail")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    try:
        election = ElectionConfig(args.lease_namespace, args.lease_name, args.identity,
                                  args.lease_duration, args.renew_deadline, args.retry_period)
    except ValueError as exc:
        print(f"controller: {exc}", file=sys.stderr)
        return 2
    client = Client.from_kubeconfig(args.kubeconfig, args.context,
                                    request_timeout=max(1.0, min(10.0, args.renew_deadline / 2)))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    recorder = events.Recorder(client, host=args.identity)
    config = VMControllerConfig(namespace=args.namespace, workers=args.workers,
                                resync_period=args.resync_period,
                                backoff=CrashLoopBackoff(args.crashloop_base, args.crashloop_cap))
    scheduler_config = SchedulerConfig(namespace=args.namespace, resync_period=args.resync_period,
                                       resources=ResourceConfig(use_emulation=args.use_emulation))
    pool_config = PoolControllerConfig(namespace=args.namespace, workers=args.workers,
                                       resync_period=args.resync_period)
    node_config = NodeControllerConfig(timeout=args.node_timeout, resync_period=args.resync_period,
                                       namespace=args.namespace)
    running: list = []

    def started() -> None:
        controllers = [VMController(client, recorder, config), PoolController(client, recorder, pool_config),
                       NodeController(client, recorder, node_config)]
        if args.scheduler == "on":
            controllers.append(Scheduler(client, recorder, scheduler_config))
        for controller in controllers:
            running.append(controller)
            controller.start()

    def stopped() -> None:
        while running:
            running.pop().stop()
        log.info("%s stopped its controllers", args.identity)

    print(f"candidate {args.identity}", flush=True)
    try:
        while not stop.is_set():
            elector = LeaderElector(client, election, started, stopped)
            if elector.run(stop):
                break
            log.warning("%s lost leadership; campaigning again", args.identity)
    except errors.APIRequestError as exc:
        log.error("%s", exc)
        return 1
    finally:
        client.close()
    log.info("%s exiting", args.identity)
    return 0


if __name__ == "__main__":
    sys.exit(main())
