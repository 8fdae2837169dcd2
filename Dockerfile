# syntax=docker/dockerfile:1
# One image for the worker and the API; docker-compose.yml and infra/k8s choose the command. The
# TypeScript sources run through tsx as with `npm start` (tsx is a production dependency; nothing is
# compiled). Besides Node it holds exactly what the activities spawn (test/infra/images.test.ts derives
# that from the source and holds this file to it): git and ssh (git remotes, activities/git/_repo.ts)
# and kubectl (`kubectl kustomize`, activities/gitops/_kubectl.ts).
# Node: an LTS line pinned to a release, on Debian bookworm. The Debian packages are pinned to their
# current bookworm versions; Debian keeps only the newest bookworm/bookworm-security version on its
# mirrors, so a security update makes the build fail until the pin is bumped here (deliberate: every
# version in the image is one this file names).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

# kubectl at the Kubernetes version the tests run (infra/tools/versions.ts), checked against the
# release's published sha256.
FROM ${NODE_IMAGE} AS kubectl
ARG KUBECTL_VERSION=1.35.4
ARG TARGETARCH
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u15 ca-certificates=20250419~deb12u2 \
 && rm -rf /var/lib/apt/lists/*
RUN cd /tmp \
 && curl -fsSLO "https://dl.k8s.io/release/v${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl" \
 && curl -fsSLO "https://dl.k8s.io/release/v${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl.sha256" \
 && echo "$(cat kubectl.sha256)  kubectl" | sha256sum --check --strict \
 && install -m 0755 kubectl /usr/local/bin/kubectl

FROM ${NODE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends git=1:2.39.5-0+deb12u3 openssh-client=1:9.2p1-2+deb12u10 ca-certificates=20250419~deb12u2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=kubectl /usr/local/bin/kubectl /usr/local/bin/kubectl
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
ENV NODE_ENV=production
# Where the API keeps its dev tokens (api/dev-tokens.ts); the only path the app writes to.
ENV CEDILLE_DATA_DIR=/var/lib/cedille
RUN mkdir -p "$CEDILLE_DATA_DIR" && chown node:node "$CEDILLE_DATA_DIR"
# The image's `node` user (uid 1000), never root.
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "worker/main.ts"]
