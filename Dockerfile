FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir .
ENV STORYDIFF_DATA_DIR=/data
CMD ["storydiff", "serve", "--host", "0.0.0.0"]
