"""Route handlers, one module per resource; each exports ENDPOINTS."""
