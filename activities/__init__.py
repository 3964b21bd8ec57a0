"""Activities: every side effect of a trader (wiring in activities.wiring)."""
