#!/bin/sh
# udhcpc event script of the virtnode test guest: configures the interface from
# the lease and prints `VIRTNODE-GUEST-IP <addr>` on the console when bound.
# udhcpc passes: $1 = event, $interface, $ip, $mask (prefix length), $router, $dns.

case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound|renew)
    old=$(cat "/run/dhcp.$interface" 2>/dev/null)
    if [ "$old" != "$ip/$mask" ]; then
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/$mask" dev "$interface"
        echo "$ip/$mask" >"/run/dhcp.$interface"
        echo "VIRTNODE-GUEST-IP $ip" >/dev/console
    fi
    if [ -n "$router" ]; then
        set -- $router
        ip route replace default via "$1" dev "$interface"
    fi
    : >/etc/resolv.conf
    for server in $dns; do
        echo "nameserver $server" >>/etc/resolv.conf
    done
    ;;
esac
exit 0
