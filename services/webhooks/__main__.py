"""Entry point: python -m wavis.services.webhooks"""

from wavis.core.grpc_server import run_service
from wavis.core.mesh import SERVICES_BY_KEY
from wavis.services.webhooks.server import lifespan
from wavis.services.webhooks.settings import WebhooksSettings

if __name__ == "__main__":
    run_service(SERVICES_BY_KEY["webhooks"], lifespan, WebhooksSettings)
