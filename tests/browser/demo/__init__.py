"""A tiny app on `servicekit.web` that exercises every shared building block (tests only)."""
