"""The clues API, called by the gateway with the caller in its signed assertion (``X-JSP-Assertion``): clues,
case transfers and the office's configuration."""

from fastapi import APIRouter

from . import clues, configuration, transfers

router = APIRouter()
for part in (clues.router, transfers.router, configuration.router):
    router.include_router(part)
