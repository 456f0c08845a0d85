"""Entry point: python -m wavis.services.ckks_compute"""

from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY
from wavis.services.ckks_compute.server import lifespan
from wavis.services.ckks_compute.settings import CkksSettings

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["ckks_compute"], lifespan, CkksSettings)
