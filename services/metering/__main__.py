"""Entry point: python -m wavis.services.metering"""

from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY
from wavis.services.metering.server import lifespan
from wavis.services.metering.settings import MeteringSettings

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["metering"], lifespan, MeteringSettings)
