FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/frontline
COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY static ./static
COPY content ./content
# Editable, so that the app finds static/, migrations/ and content/ beside it.
RUN pip install -c constraints.txt -e . \
    && useradd --system --uid 10001 --home-dir /srv/frontline frontline \
    && mkdir -p /srv/frontline/data \
    && chown frontline /srv/frontline/data

USER frontline
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["frontline", "serve", "--host", "0.0.0.0", "--port", "8000"]
