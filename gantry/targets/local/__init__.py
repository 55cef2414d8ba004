"""The local target: two "regions" on this machine (podman replicas, docker-registry, HAProxy, Prometheus)."""
