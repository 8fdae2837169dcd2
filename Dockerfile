# syntax=docker/dockerfile:1
# One image for the worker and the API; docker-compose.yml and infra/k8s choose the command. The
# TypeScript sources run through tsx as with `npm start` (tsx is a dev dependency, so the image
# keeps the dev dependencies; nothing is compiled).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

FROM ${NODE_IMAGE}
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# Where the API keeps its dev tokens (api/dev-tokens.ts); the only path the app writes to.
ENV CEDILLE_DATA_DIR=/var/lib/cedille
RUN mkdir -p "$CEDILLE_DATA_DIR" && chown node:node "$CEDILLE_DATA_DIR"
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "worker/main.ts"]
