"""nsnet as a CNI plugin (`nsnet-cni`, installed in CNI_PATH under the name
of its "type", e.g. /opt/cni/bin/nsnet), so container runtimes can use it."""
