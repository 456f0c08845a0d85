"""Entry point: python -m services.inference"""

from services.inference.server import lifespan
from services.inference.settings import InferenceSettings
from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["inference"], lifespan, InferenceSettings)
