# One image for the study creator, the workers and the dashboard of docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hpo ./hpo
COPY objectives ./objectives
COPY storage ./storage
RUN pip install --no-cache-dir .
ENV HPO_ARTIFACTS=/artifacts HPO_CACHE_DIR=/cache
ENTRYPOINT []
