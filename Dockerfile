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
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The code belongs to root and runs as the image's unprivileged `node` user (uid 1000).
USER node
ENTRYPOINT ["node", "dist/bin/cfn-gitops.js"]
CMD ["worker"]
