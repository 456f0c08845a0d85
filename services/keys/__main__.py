"""Entry point: python -m wavis.services.keys"""

from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY
from wavis.services.keys.server import lifespan
from wavis.services.keys.settings import KeysSettings

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["keys"], lifespan, KeysSettings)
