# The wx-pipeline image: the Dagster UI and daemon of docker-compose.yml run from it.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster \
    DAGSTER_EVENT_BATCH_SIZE=1000
WORKDIR /app

RUN pip install --no-cache-dir uv
COPY requirements.lock ./
RUN uv pip install --system --no-cache -r requirements.lock

COPY pyproject.toml README.md workspace.yaml ./
COPY wx_pipeline ./wx_pipeline
COPY dbt ./dbt
# Editable, so dbt/ stays beside the package where wx_pipeline.dbt_project finds it.
RUN uv pip install --system --no-deps -e . \
    && wx-pipeline dbt parse --quiet \
    && python -c "from pathlib import Path; from wx_pipeline.runner import write_dagster_yaml; write_dagster_yaml(Path('/opt/dagster'))"

EXPOSE 3000
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "workspace.yaml"]
