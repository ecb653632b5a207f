"""Plumbing the three services share: settings base, database and migrations, the app shell.

It imports none of the services; they import it. Protocol logic lives in `vc`,
message shapes in `schemas`, and each service's own rules in the service.
"""
