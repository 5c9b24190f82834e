"""`python -m apiserver`: the embedded Kubernetes-compatible API of one machine.

Owns starting the API: the state directory (mode 0700), the PKI, the token and
binding files, the SQLite store, the namespaces every cluster has, the admin
kubeconfig (mode 0600), and the HTTPS server on 127.0.0.1. `virtctl up` runs
it under the node's supervisor; it can also run alone for development.

    python -m apiserver --state-dir DIR [--port 6443]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from apiserver import errors, resources
from apiserver.auth import Authenticator, Authorizer
from apiserver.certs import ensure_pki
from apiserver.http import APIServer
from apiserver.store import Store
from virtctl.kubeconfig import write_kubeconfig

log = logging.getLogger("apiserver")

DEFAULT_PORT = 6443
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def prepare_state(state_dir: Path) -> None:
    os.umask(0o077)  # the database, keys and kubeconfig are the owner's alone
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state_dir, 0o700)
    tokens = state_dir / "tokens.csv"
    if not tokens.exists():
        fd = os.open(tokens, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# token,user,uid,\"group1,group2\"  (Kubernetes' static token file format)\n")


def ensure_namespaces(store: Store) -> None:
    ns = resources.find("", "v1", "namespaces")
    for name in INITIAL_NAMESPACES:
        try:
            store.create(ns, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
                              "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        except errors.AlreadyExists:
            pass


def build_server(state_dir: Path, host: str, port: int,
                 compaction_keep: int = 10000) -> tuple[APIServer, Store]:
    prepare_state(state_dir)
    pki = ensure_pki(state_dir)
    store = Store(str(state_dir / "state.db"), compaction_keep=compaction_keep)
    ensure_namespaces(store)
    bindings = state_dir / "bindings.yaml"
    server = APIServer((host, port), store, Authenticator(state_dir / "tokens.csv", pki.ca_cert),
                       Authorizer(bindings if bindings.exists() else None), pki.server_context())
    write_kubeconfig(state_dir / "kubeconfig", f"https://{host}:{server.port}", pki.ca_cert.read_bytes(),
                     pki.admin_cert.read_bytes(), pki.admin_key.read_bytes())
    return server, store


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m apiserver", description=__doc__.splitlines()[0])
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    p.add_argument("--compaction-keep", type=int, default=10000,
                   help="writes kept for watches to resume from (older: 410 Gone)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s level=%(levelname)s component=apiserver logger=%(name)s msg=%(message)r")
    try:
        server, store = build_server(args.state_dir, args.host, args.port, args.compaction_keep)
    except OSError as e:
        log.error("cannot start the API on %s:%d: %s", args.host, args.port, e)
        return 1
    stop = threading.Event()

    def on_signal(signum, frame) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("serving on https://%s:%d; kubeconfig %s", args.host, server.port,
             args.state_dir / "kubeconfig")
    print(f"ready https://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
