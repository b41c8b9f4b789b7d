"""Events owned by the clues service and the 12345 hotline feed."""
