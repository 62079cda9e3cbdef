"""`reelforge simulate`: a driver above the services (a synthetic population submits ordinary
jobs; a simulated device runs them)."""
