FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir .
ENV STORYDIFF_DATA_DIR=/data STORYDIFF_CACHE_DIR=/opt/storydiff-cache
# the language model's uncompressed copy and the word-frequency table, built once into the image:
# every container (web, each worker, beat) maps them from its first second instead of building them
RUN python -c "from storydiff.ingest.langmodel import load_identifier; from storydiff.compare.zipf import zipf; load_identifier(); zipf('news')" \
    && chmod -R a+rX /opt/storydiff-cache
CMD ["storydiff", "serve", "--host", "0.0.0.0"]
