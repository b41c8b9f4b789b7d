"""The inspection service's pure rules: no I/O, values in, values out (``now`` and ``today`` passed in)."""
