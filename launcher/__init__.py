"""The per-VM process (KubeVirt's virt-launcher).

Owns one guest: a private libvirt daemon, the VMI-to-domain conversion, the
command server, the event notifier and the console. Never acts on host-wide
resources and never imports controller/, apiserver/ or virtctl/. Built in a
later issue; the package exists so the layout and its contracts hold.
"""
