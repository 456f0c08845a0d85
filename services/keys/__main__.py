"""Entry point: python -m services.keys"""

from services.keys.server import lifespan
from services.keys.settings import KeysSettings
from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["keys"], lifespan, KeysSettings)
