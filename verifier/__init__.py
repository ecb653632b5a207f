"""eduwallet verifier service. The employer's side: OpenID4VP requests with DCQL, and named checks on what comes back."""
