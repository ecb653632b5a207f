"""eduwallet wallet service. The learner's side: receives over OpenID4VCI, keeps credentials encrypted, presents over OpenID4VP."""
