# The wx-pipeline image: the code server, the Dagster UI and the daemon of docker-compose.yml
# run from it, and so can the user code deployment of deploy/helm/values.yaml.
#
# Two stages: `build` installs the lock into a virtualenv with uv and parses the dbt manifest;
# the final stage gets the virtualenv and the project, not uv, its caches or the build's
# settings (build arguments stay in the `build` stage's history).

FROM python:3.11-slim AS build

# uv comes from PyPI like every other package; the lock pins the rest.
ARG UV_VERSION=0.13.9
# requirements-k8s.lock for Dagster's Helm chart: the same pins plus dagster-k8s (deploy/README.md).
ARG REQUIREMENTS=requirements.lock
# Where pip and uv find packages, when not PyPI directly: a mirror (PIP_INDEX_URL for pip,
# UV_DEFAULT_INDEX for uv) and, behind a TLS-inspecting proxy, UV_NATIVE_TLS=1 (uv then trusts
# the system's CA bundle, e.g. mounted with `--volume` for the build only).
ARG PIP_INDEX_URL
ARG UV_DEFAULT_INDEX
ARG UV_NATIVE_TLS

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && uv venv --python python3 /opt/venv

WORKDIR /app
COPY ${REQUIREMENTS} ./requirements.lock
# The packages' own Python test suites (pandas' alone is 46 MB) are not needed to run them;
# only Python packages named tests go: dbt's macros/.../tests holds macros every build uses.
RUN uv pip install --no-cache -r requirements.lock \
    && find /opt/venv/lib/python3*/site-packages -type d -name tests \
        -exec test -e {}/__init__.py \; -prune -exec rm -rf {} +

COPY pyproject.toml README.md ./
COPY wx_pipeline ./wx_pipeline
COPY dbt ./dbt
# Editable, so dbt/ stays beside the package where wx_pipeline.marts.run finds it. The
# manifest is parsed here, once, instead of by every process that loads the definitions; the
# package's bytecode is compiled here too, as the runtime user cannot write it under /app.
RUN rm -rf dbt/target dbt/logs \
    && uv pip install --no-cache --no-deps -e . \
    && wx-pipeline dbt parse --quiet \
    && python -m compileall -q wx_pipeline \
    && rm -rf dbt/logs


FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster \
    DAGSTER_EVENT_BATCH_SIZE=1000 \
    DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=true \
    WX_HOME=/var/lib/wx

# A fixed numeric id, so Kubernetes' runAsNonRoot can verify it and volumes can be chowned.
RUN groupadd --system --gid 10001 wx \
    && useradd --system --uid 10001 --gid wx --home-dir /var/lib/wx --no-create-home \
        --shell /usr/sbin/nologin wx

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build /app /app
# dbt writes its logs and a shell's `wx-pipeline dbt ...` its target under dbt/ at run time.
RUN mkdir -p dbt/logs /var/lib/wx/compute-logs /var/lib/wx/storage \
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
