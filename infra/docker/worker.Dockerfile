# syntax=docker/dockerfile:1
# The ivl-cluster stage worker: one pipeline stage on one GPU (onnxruntime-node with its CUDA execution provider).
# Build from the repository root:
#   docker build -f infra/docker/worker.Dockerfile -t <registry>/ivl/worker:<tag> .
# The build downloads onnxruntime's CUDA provider libraries from NuGet (ONNXRUNTIME_NODE_INSTALL=cuda12); the runtime
# image brings CUDA 12 and cuDNN 9, which those libraries load.
ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV ONNXRUNTIME_NODE_INSTALL=cuda12 \
    NX_DAEMON=false \
    NX_NO_CLOUD=true \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
# npm ci without scripts (the root "prepare" builds dist/ and needs the sources), then onnxruntime-node's own
# install script, which fetches libonnxruntime_providers_{cuda,shared,tensorrt}.so for CUDA 12. It is run directly
# because package.json's allowScripts denies it (so that a plain `npm ci` downloads nothing), and `npm rebuild`
# honours that denial.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund \
 && node node_modules/onnxruntime-node/script/install.js \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so
COPY tsconfig.base.json tsconfig.json ./
COPY tools/build.mjs tools/build.mjs
COPY protos protos
COPY libs libs
COPY apps apps
RUN node tools/build.mjs \
 && test -f dist/worker.js && test -f dist/ort-thread.js \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Node 20 itself comes from the official image (one static-enough binary: glibc and libstdc++ from the CUDA image).
FROM ${NODE_IMAGE} AS node

FROM ${CUDA_IMAGE}
ENV NODE_ENV=production \
    HOME=/tmp \
    IVL_CACHE_DIR=/cache \
    MALLOC_MMAP_THRESHOLD_=33554432 \
    MALLOC_TRIM_THRESHOLD_=4294967296
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN node --version \
 && groupadd --system --gid 10001 ivl \
 && useradd --system --uid 10001 --gid ivl --home-dir /tmp --no-create-home --shell /usr/sbin/nologin ivl \
 && mkdir -p /cache && chown 10001:10001 /cache
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/protos ./protos
USER 10001:10001
# gRPC stage port and Prometheus /metrics (the chart passes both explicitly).
EXPOSE 50061 9400
ENTRYPOINT ["node", "dist/worker.js"]
CMD ["--help"]
