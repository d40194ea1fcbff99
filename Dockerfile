FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY webhook_gateway ./webhook_gateway
COPY workflows ./workflows
COPY activities ./activities
COPY worker.py hooktide.yaml ./
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --system --uid 10001 hooktide
USER hooktide
ENV HOOKTIDE_HOST=0.0.0.0 HOOKTIDE_PORT=8000
EXPOSE 8000
CMD ["hooktide", "gateway"]
