# The wx-pipeline image: the code server, the Dagster UI and the daemon of docker-compose.yml
# run from it, and so can the user code deployment of deploy/helm/values.yaml.
FROM python:3.11-slim

# uv comes from PyPI like every other package; the lock pins the rest.
ARG UV_VERSION=0.13.9
# requirements-k8s.lock for Dagster's Helm chart: the same pins plus dagster-k8s (deploy/README.md).
ARG REQUIREMENTS=requirements.lock

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    DAGSTER_HOME=/opt/dagster \
    DAGSTER_EVENT_BATCH_SIZE=1000 \
    DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=true \
    WX_HOME=/var/lib/wx

# A fixed numeric id, so Kubernetes' runAsNonRoot can verify it and volumes can be chowned.
RUN groupadd --system --gid 10001 wx \
    && useradd --system --uid 10001 --gid wx --home-dir /var/lib/wx --no-create-home \
        --shell /usr/sbin/nologin wx \
    && pip install --no-cache-dir "uv==${UV_VERSION}"

WORKDIR /app
COPY ${REQUIREMENTS} ./requirements.lock
RUN uv pip install --system --no-cache -r requirements.lock

COPY pyproject.toml README.md ./
COPY wx_pipeline ./wx_pipeline
COPY dbt ./dbt
# Editable, so dbt/ stays beside the package where wx_pipeline.dbt_project finds it. The
# manifest is parsed here, once, instead of by every process that loads the definitions; dbt
# writes its logs and a shell's `wx-pipeline dbt ...` its target under dbt/ at run time.
RUN rm -rf dbt/target dbt/logs \
    && uv pip install --system --no-cache --no-deps -e . \
    && wx-pipeline dbt parse --quiet \
    && mkdir -p dbt/logs /var/lib/wx/compute-logs /var/lib/wx/storage \
    && chown -R wx:wx dbt/target dbt/logs /var/lib/wx \
    && install -d -o wx -g wx /opt/dagster

# The instance (Postgres storage from WX_DAGSTER_STORAGE_URL) and the workspace of the UI and
# the daemon, owned by root. The directory is the runtime user's: Dagster makes a few of its
# own in $DAGSTER_HOME (e.g. logs/, .logs_queue/, even with telemetry off).
COPY deploy/dagster.yaml deploy/workspace.yaml /opt/dagster/

USER 10001:10001
EXPOSE 3000 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", \
     "-m", "wx_pipeline.definitions", "--location-name", "wx_pipeline"]
