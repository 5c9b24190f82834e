#!/bin/busybox sh
# /init of the virtnode test guest (busybox sh, PID 1 until it execs busybox init).
#
# Console protocol on ttyS0, one line each, in this order (see docs/guest.md):
#   VIRTNODE-GUEST-READY uptime=<s>     modules loaded, /proc/uptime seconds
#   VIRTNODE-SEED hostname=<name>       a NoCloud seed (label cidata) was read
#   VIRTNODE-GUEST-IP <addr>            DHCP lease on eth0 (printed by udhcpc.sh)
#   VIRTNODE-HTTP-READY port=80         httpd serves /index.html with the hostname
#   VIRTNODE-AGENT-READY port=<dev>     qemu-ga listens on org.qemu.guest_agent.0
#   VIRTNODE-ACPI-READY                 acpid waits for the ACPI power button
#   VIRTNODE-USERDATA-DONE rc=<rc>      the seed's #! user-data script finished
#   VIRTNODE-POWER-BUTTON               the power button was pressed: powering off
# Failures print `VIRTNODE-ERROR <what>` and the boot goes on.

/bin/busybox mkdir -p /proc /sys /dev /run /tmp /mnt/seed /var/www /root
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
ln -sf /run /var/run
exec </dev/console >/dev/console 2>&1
export PATH=/sbin:/usr/sbin:/bin:/usr/bin HOME=/root

error() { echo "VIRTNODE-ERROR $*"; }

# Kernel modules, in dependency order (build.py wrote the list).
while read -r module; do
    insmod "/lib/modules/$module.ko" || error "insmod $module"
done </lib/modules/load-order

read -r uptime _ </proc/uptime
echo "VIRTNODE-GUEST-READY uptime=$uptime"

# NoCloud seed: a disk or cdrom whose filesystem label is cidata. Block devices
# are probed asynchronously after their drivers load, so look for a while.
hostname="virtnode-guest"
seed=""
tries=0
while [ $tries -lt 25 ]; do
    seed=$(findfs LABEL=cidata 2>/dev/null) && break
    seed=""
    tries=$((tries + 1))
    sleep 0.2
done
if [ -n "$seed" ]; then
    if mount -o ro "$seed" /mnt/seed; then
        if [ -f /mnt/seed/meta-data ]; then
            name=$(sed -n 's/^[[:space:]]*local-hostname:[[:space:]]*["'\'']\{0,1\}\([^"'\'' ]*\).*/\1/p' /mnt/seed/meta-data | head -n 1)
            [ -n "$name" ] && hostname="$name"
        fi
        echo "VIRTNODE-SEED hostname=$hostname device=$seed"
    else
        error "mount seed $seed"
        seed=""
    fi
fi
hostname "$hostname"
echo "$hostname" >/etc/hostname
echo "127.0.0.1 localhost $hostname" >/etc/hosts

# Network: DHCP on eth0; udhcpc.sh configures it and prints the address.
ip link set lo up
if [ -e /sys/class/net/eth0 ]; then
    udhcpc -i eth0 -s /etc/udhcpc.sh -x "hostname:$hostname" -t 10 -T 2 -b -S -p /run/udhcpc.eth0.pid \
        || error "dhcp eth0"
else
    error "no eth0"
fi

# HTTP: a page that names this guest.
cat >/var/www/index.html <<PAGE
<html><head><title>$hostname</title></head>
<body><h1>virtnode test guest</h1><p>hostname: $hostname</p></body></html>
PAGE
httpd -p 80 -h /var/www && echo "VIRTNODE-HTTP-READY port=80" || error "httpd"

# Guest agent on the virtio-serial port named org.qemu.guest_agent.0. The
# port's name arrives from the host shortly after the device appears.
agent_port=""
tries=0
while [ -z "$agent_port" ] && [ $tries -lt 20 ]; do
    for port in /sys/class/virtio-ports/*; do
        [ "$(cat "$port/name" 2>/dev/null)" = "org.qemu.guest_agent.0" ] && agent_port="/dev/${port##*/}"
    done
    [ -n "$agent_port" ] || { tries=$((tries + 1)); sleep 0.2; }
done
if [ -n "$agent_port" ]; then
    mkdir -p /run/qemu-ga
    qemu-ga -d -m virtio-serial -p "$agent_port" -t /run/qemu-ga -f /run/qemu-ga.pid \
        && echo "VIRTNODE-AGENT-READY port=$agent_port" || error "qemu-ga"
fi

# ACPI power button -> clean poweroff (busybox acpid runs /etc/acpi/PWRF/00000080).
# acpid logs to a file it opens after daemonizing; without -l it uses
# /var/log/acpid.log, which does not exist here, and dies silently.
if acpid -c /etc/acpi -l /run/acpid.log; then
    echo "VIRTNODE-ACPI-READY"
else
    error "acpid"
fi

# user-data: run it when it is a script; its output goes to the console.
if [ -n "$seed" ] && head -c 2 /mnt/seed/user-data 2>/dev/null | grep -q '^#!'; then
    cp /mnt/seed/user-data /run/user-data
    chmod 0700 /run/user-data
    (
        cd /root && /run/user-data
        echo "VIRTNODE-USERDATA-DONE rc=$?"
    ) </dev/null &
fi

# busybox init takes over as PID 1: it reaps orphans, keeps a shell on the
# console and performs poweroff/reboot.
exec /sbin/init
