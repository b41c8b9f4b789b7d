"""The gateway's rules: identities and tokens, route policy, rate limits, entity-360 composition. No I/O."""
