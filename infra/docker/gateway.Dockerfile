# syntax=docker/dockerfile:1
# The ivl-cluster gateway: OpenAI-compatible REST + gRPC API in front of the queue (no GPU, no model weights).
# Build from the repository root:
#   docker build -f infra/docker/gateway.Dockerfile -t <registry>/ivl/gateway:<tag> .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# onnxruntime-node's CUDA provider libraries are not needed here (the gateway runs no model).
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    NX_DAEMON=false \
    NX_NO_CLOUD=true \
    npm_config_update_notifier=false
# Dependencies first (cached while package*.json are unchanged). Scripts are skipped: the root "prepare" builds
# dist/ and needs the sources, and no runtime dependency of the gateway needs an install script.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY tools/build.mjs tools/build.mjs
COPY protos protos
COPY libs libs
COPY apps apps
RUN node tools/build.mjs \
 && test -f dist/gateway.js \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOME=/tmp
WORKDIR /app
RUN groupadd --system --gid 10001 ivl \
 && useradd --system --uid 10001 --gid ivl --home-dir /tmp --no-create-home --shell /usr/sbin/nologin ivl
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/protos ./protos
USER 10001:10001
EXPOSE 8000 50051
ENTRYPOINT ["node", "dist/gateway.js"]
CMD ["--help"]
