"""Composition root: settings, database set-up and the `eduwallet` command that runs the three services."""
