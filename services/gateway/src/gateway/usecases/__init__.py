"""The gateway's use cases, one module per area: clients (identity), auth (tokens), ingest, audit,
composition (entity 360), housekeeping (periodic jobs). Each takes the transaction its caller opened
(a route, a periodic job, a command) and never commits; events go out only through that transaction."""
