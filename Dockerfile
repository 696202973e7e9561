# Worker image for Dataflow runs that need the ffmpeg command: --decoder ffmpeg, or damaged files
# to salvage (every format is otherwise decoded in-process from wheels).
# Build and push:  docker build -t REGION-docker.pkg.dev/PROJECT/REPO/birdsong-worker:0.1.0 . && docker push ...
# Use:             python -m pipeline.build --runner DataflowRunner --sdk_container_image IMAGE ...
FROM apache/beam_python3.11_sdk:2.77.0

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/birdsong
COPY requirements.txt setup.py ./
RUN pip install --no-cache-dir -r requirements.txt
COPY schemas ./schemas
COPY pipeline ./pipeline
COPY trainer ./trainer
RUN pip install --no-cache-dir --no-deps .
