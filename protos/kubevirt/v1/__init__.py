"""kubevirt.io/v1 objects plus the pool.kubevirt.io and cdi.kubevirt.io kinds virtnode serves."""
