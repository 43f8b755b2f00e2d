# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev toolchain.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY strategies ./strategies
RUN npm run build

# Runtime stage: production dependencies only, non-root user, the undertow CLI as entrypoint.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config.example.json ./
RUN useradd --system --uid 10001 --home-dir /app undertow \
  && mkdir -p /data /app/dist/.cache && chown -R undertow /data /app/dist/.cache
USER undertow
VOLUME ["/data"]
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["--help"]
