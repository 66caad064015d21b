# agentgym retrieval server (search issue): the Search-R1 `/retrieve` JSON API + /health.
#
#   docker build -f docker/retriever.Dockerfile -t agentgym-retriever .
#   docker run -p 8000:8000 agentgym-retriever --world-seed 0            # the bundled generated world
#   docker run -p 8000:8000 -v $PWD/index:/index agentgym-retriever --index /index   # a built index
#
# Build an index first with `agentgym index build --kind bm25|dense|hybrid --out DIR ...`.
# The retrieval API has no auth: keep it on a private network (compose does not publish it).
ARG BASE=python:3.11-slim
FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PIP_NO_CACHE_DIR=1
WORKDIR /opt/agentgym
COPY pyproject.toml README.md ./
COPY agentgym ./agentgym
RUN pip install ".[search,server]" && useradd --system --uid 10001 --home-dir /home/agentgym --create-home agentgym
USER agentgym
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:8000/health').status_code != 200)"
ENTRYPOINT ["agentgym", "retriever", "serve", "--host", "0.0.0.0", "--port", "8000"]
CMD ["--world-seed", "0"]
