#!/usr/bin/env bash
# `make demo`: virtnode's main job.
#
# 1. virtctl checks KubeVirt's own example manifests against virtnode's API model and admission
#    rules and shows what a broken manifest gets back.
# 2. `virtctl up` starts the embedded node (API, controller, and the node daemon when run as
#    root), `virtctl apply` creates the tiny VM (the test guest that `make install` built from
#    Debian packages, served to the node offline as the containerDisk image virtnode/test-guest,
#    with cloud-init user data and the default pod network), and the demo waits until the guest
#    is up, shows its serial console output with `virtctl logs` and fetches the web page it
#    serves on its pod IP. Guests run under TCG emulation here: KVM on these machines cannot
#    boot Linux guests.
# 3. The node is left running, with the commands to reach the VM and to stop everything.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "virtctl version"
virtctl version

step "virtctl validate -f examples/kubevirt   (manifests from KubeVirt's documentation)"
virtctl validate -f examples/kubevirt

step "virtctl validate -f examples/invalid/broken-vm.yaml   (every problem at once, exit code 1)"
virtctl validate -f examples/invalid/broken-vm.yaml && exit 1 || echo "(exit code $?)"

STATE="$PWD/.cache/demo-node"
IMAGE="$PWD/.cache/demo-image"
GUEST="$(python -c 'from tests.guest.build import build; print(build(log=lambda m: None).kernel.parent)')"
mkdir -p "$IMAGE/boot" "$IMAGE/disk"
cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$IMAGE/boot/"
# disk/guest.qcow2: the same guest as a bootable disk, for containerDisk volumes (KubeVirt's
# layout: one disk file under /disk). Replaced by a rename, never rewritten in place: the
# overlays of guests that still run are backed by the old file.
if ! cmp -s "$GUEST/disk.qcow2" "$IMAGE/disk/guest.qcow2"; then
  cp "$GUEST/disk.qcow2" "$IMAGE/.guest.qcow2.new" && mv -f "$IMAGE/.guest.qcow2.new" "$IMAGE/disk/guest.qcow2"
fi
chmod -R a+rX "$IMAGE"
chmod a+x "$PWD/.cache" "$PWD"

if [ -f "$STATE/node.pid" ]; then virtctl down --state-dir "$STATE" >/dev/null; fi
rm -rf "$STATE"  # a fresh node each time
step "virtctl up --state-dir $STATE --accelerator emulation --image virtnode/test-guest=$IMAGE"
virtctl up --state-dir "$STATE" --port 0 --accelerator emulation --image "virtnode/test-guest=$IMAGE"
export KUBECONFIG="$(virtctl kubeconfig --state-dir "$STATE")"

step "virtctl apply -f examples/tiny-vm.yaml"
virtctl apply --state-dir "$STATE" -f examples/tiny-vm.yaml

step "waiting for the guest to boot (TCG emulation: a few seconds)"
for _ in $(seq 1 120); do
  if virtctl logs tiny --state-dir "$STATE" 2>/dev/null | grep -q VIRTNODE-GUEST-READY; then break; fi
  sleep 1
done

step "kubectl get vms,vmis   (KubeVirt's printer columns)"
kubectl get vm,vmi
IP="$(kubectl get vmi tiny -o jsonpath='{.status.interfaces[0].ipAddress}')"

step "virtctl logs tiny   (what the guest printed on its serial console; the end of it)"
virtctl logs tiny --state-dir "$STATE" | tail -n 12
virtctl logs tiny --state-dir "$STATE" | grep -q VIRTNODE-GUEST-READY

step "curl http://$IP/   (the guest's web server, on its pod IP, behind masquerade NAT)"
for _ in $(seq 1 60); do
  if curl -sf --max-time 3 "http://$IP/"; then break; fi
  sleep 1
done

cat <<EOT

The node is still running, with the VM on it:
  export KUBECONFIG=$KUBECONFIG
  kubectl get vms,vmis                                   # or: virtctl get vmis --state-dir $STATE
  virtctl console tiny --state-dir $STATE                # the serial console; Ctrl+] to leave
  curl http://$IP/                                  # the guest's web server on its pod IP
  virtctl stop tiny --state-dir $STATE                   # shut the guest down
  virtctl down --state-dir $STATE                        # stop the node and its guests
EOT
