"""Entry point: python -m services.metering"""

from services.metering.server import lifespan
from services.metering.settings import MeteringSettings
from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["metering"], lifespan, MeteringSettings)
