"""Entry point: python -m services.ckks_compute"""

from services.ckks_compute.server import lifespan
from services.ckks_compute.settings import CkksSettings
from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["ckks_compute"], lifespan, CkksSettings)
