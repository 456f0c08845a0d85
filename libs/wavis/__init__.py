"""WAVIS: Fully Homomorphic Encryption as a service. One namespace for the whole mesh."""

import os as _os

__version__ = "0.1.0"

# gRPC's fork handlers off (they aborted children between fork and exec) unless the environment
# says otherwise; set before anything imports grpc.
# See docs/decisions/0013-grpc-fork-handlers-off.md.
_os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
