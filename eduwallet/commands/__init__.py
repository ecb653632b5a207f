"""Sub-commands of `eduwallet`, one module per service."""
