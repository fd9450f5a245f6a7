# The container canary's temporary runner image, built from the current checkout by
# canary/containers.ts (npm run smoke:postgres-containers), which assembles the build context:
#   Dockerfile     this file
#   package.json   the checkout's
#   dist/          the compiled package (the dev-nexus CLI)
#   build/canary/  the compiled canary (runner.js, barrier.js, mutant-cli.js)
#   node_modules/  the runtime dependencies only, copied from the host's `npm ci` (HTTPS from
#                  inside containers is intercepted on our machines, so nothing installs here)
# BASE_IMAGE is the offline-built base (docker/build-base-image.sh): Debian bookworm, PostgreSQL,
# and the host's node binary. Legacy builder: no syntax line, no BuildKit features.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
WORKDIR /app
COPY package.json /app/package.json
COPY node_modules /app/node_modules
COPY dist /app/dist
COPY build/canary /app/build/canary
ENV NODE_ENV=production
ENTRYPOINT ["node", "/app/build/canary/runner.js"]
