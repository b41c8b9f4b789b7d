"""The clues use cases, one module per area: they decide with ``domain/``, persist with ``adapters/`` and emit
through the caller's transaction (the outbox); they never commit."""
