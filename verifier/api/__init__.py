"""HTTP routers of the verifier service (thin: they call the service layer)."""
