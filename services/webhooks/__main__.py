"""Entry point: python -m services.webhooks"""

from services.webhooks.server import lifespan
from services.webhooks.settings import WebhooksSettings
from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["webhooks"], lifespan, WebhooksSettings)
