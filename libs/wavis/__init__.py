"""WAVIS: Fully Homomorphic Encryption as a service. One namespace for the whole mesh."""

import os as _os

__version__ = "0.1.0"

# gRPC's fork handlers restart its pollers in a forked child. Our processes fork only to exec
# (the devstack's children, worker pools), and between the two those restarted threads poll
# descriptors the child is closing and abort it (seen as a service dying with SIGABRT while
# starting). Off unless the environment says otherwise; set before anything imports grpc.
_os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
