# The Hooktide image: one image, two commands (`hooktide gateway`, `hooktide worker`).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml constraints.txt README.md ./
COPY webhook_gateway ./webhook_gateway
COPY workflows ./workflows
COPY activities ./activities
COPY worker.py hooktide.yaml ./
COPY schemas ./schemas
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --system --uid 10001 hooktide
USER hooktide
# Same variables as `make run`; JSON logs here, text locally.
ENV HOOKTIDE_HOST=0.0.0.0 HOOKTIDE_PORT=8000 HOOKTIDE_LOG_FORMAT=json
# 8000: the gateway (webhooks, /metrics); 9464: the worker's SDK metrics when enabled.
EXPOSE 8000 9464
CMD ["hooktide", "gateway"]
