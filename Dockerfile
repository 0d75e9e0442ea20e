# syntax=docker/dockerfile:1
# cfn-gitops: one image for the worker (default), the API server and the CLI.
#   docker build -t cfn-gitops .
#   docker run --rm -e TEMPORAL_ADDRESS=temporal:7233 -e AWS_REGION=us-east-1 cfn-gitops            # worker
#   docker run --rm -p 3000:3000 -e TEMPORAL_ADDRESS=temporal:7233 cfn-gitops server --port 3000
#   docker run --rm -v "$PWD:/repo" -e TEMPORAL_ADDRESS=temporal:7233 cfn-gitops plan --repo /repo

ARG NODE_IMAGE=node:22-slim

# Build: all dependencies, TypeScript to dist/, and the prebuilt workflow bundle (dist/workflow-bundle.js).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN npm run build

# Production dependencies only, installed apart so that no build tool reaches the runtime image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# git: `plan` and `start` read the push from a repository, often mounted with another owner;
# ca-certificates: TLS to AWS and Temporal Cloud.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && git config --system --add safe.directory '*'
ENV NODE_ENV=production
# Memory of the worker (the image's default command), measured by `npm run bench:scale` (1,000
# deployments in flight on one worker; README, Benchmarks). With Node's defaults each V8 heap is
# sized from the machine (4 GB here): V8 lets a heap grow to about 4x its live objects before a
# full GC and keeps a 32 MB young generation, so the SDK's workflow thread and the main thread,
# each holding about 45 MB, peaked near 190 and 140 MB, and RSS reached 539 MB. A 512 MB old space
# sets V8's growth near 1.4x and 4 MB semi-spaces a young generation of 8 MB: 317 MB, the start
# burst unchanged. The server and the CLI get the same limits; give any of them others with
# -e NODE_OPTIONS=... (the worker's heap must hold 100 MB and 0.5 MB per cached workflow,
# CFN_GITOPS_MAX_CACHED_WORKFLOWS: 512 MB holds about 800; worker/memory.ts).
ENV NODE_OPTIONS="--max-old-space-size=512 --max-semi-space-size=4"
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The code belongs to root and runs as the image's unprivileged `node` user (uid 1000).
USER node
ENTRYPOINT ["node", "dist/bin/cfn-gitops.js"]
CMD ["worker"]
