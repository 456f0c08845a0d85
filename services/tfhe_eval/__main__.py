"""Entry point: python -m wavis.services.tfhe_eval"""

from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY
from wavis.services.tfhe_eval.server import lifespan
from wavis.services.tfhe_eval.settings import TfheSettings

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["tfhe_eval"], lifespan, TfheSettings)
