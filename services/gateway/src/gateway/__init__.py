"""The gateway: the one authenticated HTTP front door of the platform (seed clauses 二(九), 二(十))."""
