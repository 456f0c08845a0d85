"""Entry point: python -m services.tfhe_eval"""

from services.tfhe_eval.server import lifespan
from services.tfhe_eval.settings import TfheSettings
from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["tfhe_eval"], lifespan, TfheSettings)
