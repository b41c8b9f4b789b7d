"""One module per area: decide with domain/, persist with adapters/, emit through the caller's transaction."""
