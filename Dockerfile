# One image recipe for every service (a folder services/<name>/ with its pyproject.toml, alembic.ini and
# migrations/); a new service needs no edit here:
#   docker build --build-arg SERVICE=registry --build-arg PORT=8101 -t jsp/registry:latest .
# The container runs `python -m <service> serve` on 0.0.0.0:PORT (JSP_<SERVICE>_HTTP_HOST / _HTTP_PORT, when
# set, win). Migrations are a separate step with the same image: `python -m <service> migrate`.
FROM python:3.11-slim
ARG SERVICE
ARG PORT
RUN test -n "$SERVICE" -a -n "$PORT" \
    || { echo "build with --build-arg SERVICE=<a folder under services/> --build-arg PORT=<its HTTP port>" >&2; exit 1; }
WORKDIR /app
COPY constraints.txt /app/constraints.txt
COPY libs/common /app/libs/common
COPY services/${SERVICE} /app/services/${SERVICE}
# Editable, so `python -m <service> migrate` finds migrations/ and alembic.ini beside the code; the versions are
# the ones `make test` passed with (constraints.txt).
RUN pip install --no-cache-dir -c /app/constraints.txt /app/libs/common -e /app/services/${SERVICE}
COPY deploy/docker/serve.sh /usr/local/bin/jsp-serve
WORKDIR /app/services/${SERVICE}
ENV SERVICE=${SERVICE} PORT=${PORT}
EXPOSE ${PORT}
CMD ["jsp-serve"]
