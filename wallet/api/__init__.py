"""HTTP routers of the wallet service (thin: they call the service layer)."""
