#!/usr/bin/env bash
# `make demo`: virtnode's main job as far as it goes today.
#
# 1. virtctl checks KubeVirt's own example manifests against virtnode's API model and admission
#    rules, shows what a broken manifest gets back, and prints a defaulted VirtualMachine.
# 2. The test guest (built by `make install` from Debian packages) boots under QEMU, with TCG
#    emulation as on every machine here, and its serial console is shown until the guest reports
#    that it is up.
# Once the node daemon lands (issue 5), step 2 becomes `virtctl up` + `virtctl apply` + `virtctl console`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "virtctl version"
virtctl version

step "virtctl validate -f examples/kubevirt   (manifests from KubeVirt's documentation)"
virtctl validate -f examples/kubevirt

step "virtctl validate -f examples/invalid/broken-vm.yaml   (every problem at once, exit code 1)"
virtctl validate -f examples/invalid/broken-vm.yaml && exit 1 || echo "(exit code $?)"

step "virtctl validate -f examples/kubevirt/ubuntu-web-server.yaml -o yaml   (with KubeVirt's defaults)"
virtctl validate -f examples/kubevirt/ubuntu-web-server.yaml -o yaml

STATE="$PWD/.cache/demo-node"
step "virtctl up --state-dir $STATE   (the embedded API and the controller, in the background)"
rm -rf "$STATE"  # a fresh node each time
virtctl up --state-dir "$STATE" --port 0
trap 'virtctl down --state-dir "$STATE" >/dev/null 2>&1 || true' EXIT

step "virtctl apply -f examples/kubevirt/testvm.yaml; virtctl start testvm"
virtctl apply --state-dir "$STATE" -f examples/kubevirt/testvm.yaml
virtctl start --state-dir "$STATE" testvm
sleep 3

step "kubectl get vms,vmis   (KubeVirt's printer columns; the VMI waits for a node: the node daemon is issue 5)"
KUBECONFIG="$(virtctl kubeconfig --state-dir "$STATE")" kubectl get vms,vmis

step "virtctl down"
virtctl down --state-dir "$STATE"
trap - EXIT

step "boot the test guest under QEMU (TCG emulation) and watch its serial console"
python -m tests.guest.boot --timeout 240
