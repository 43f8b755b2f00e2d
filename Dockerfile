# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev toolchain.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY strategies ./strategies
RUN npm run build

# Runtime stage: production dependencies only, non-root user, the undertow CLI as entrypoint.
# The snapshot lives in /data (a volume the non-root user owns); /metrics and /healthz listen on
# all of the container's interfaces on 9464 (publish the port to reach them; the daemon's own
# default outside a container is loopback only).
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
  UNDERTOW_DATA_DIR=/data \
  UNDERTOW_METRICS_PORT=9464 \
  UNDERTOW_METRICS_HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config.example.json ./
# Compiled at run time: the clearinghouse (devnet) and the flash liquidator (deploy-executor, and
# the devnet's); helpers.sol is copied into dist by the build.
COPY strategies/xmargin-perps/contracts ./strategies/xmargin-perps/contracts
COPY strategies/aave-v3/contracts ./strategies/aave-v3/contracts
RUN useradd --system --uid 10001 --home-dir /app undertow \
  && mkdir -p /data /app/dist/.cache && chown -R undertow /data /app/dist/.cache
USER undertow
VOLUME ["/data"]
EXPOSE 9464
# Healthy while heads keep arriving (the watchdog turns /healthz to 503); commands other than `run`
# serve no /healthz and exit on their own.
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:9464/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 
ENTRYPOINT ["node", "/app/dist/undertow.js"]
CMD ["--help"]
