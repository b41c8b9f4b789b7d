"""Events owned by the registry service and the market regulation bureau's registration feed."""
