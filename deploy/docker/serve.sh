#!/bin/sh
# The command of every service's container (see the Dockerfile): `python -m $SERVICE serve`, listening on
# 0.0.0.0 and the image's PORT unless JSP_<SERVICE>_HTTP_HOST / JSP_<SERVICE>_HTTP_PORT say otherwise.
set -eu
prefix="JSP_$(printf '%s' "$SERVICE" | tr 'a-z-' 'A-Z_')"
eval "export ${prefix}_HTTP_HOST=\"\${${prefix}_HTTP_HOST:-0.0.0.0}\""
eval "export ${prefix}_HTTP_PORT=\"\${${prefix}_HTTP_PORT:-$PORT}\""
exec python -m "$SERVICE" serve
