"""HTTP routers of the issuer service (thin: they call the service layer)."""
