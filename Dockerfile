# syntax=docker/dockerfile:1
# Build stage: install all dependencies and check the types.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY jobs ./jobs
RUN npx tsc --noEmit -p tsconfig.json

# Runtime stage: production dependencies only (tsx runs the TypeScript sources), non-root.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000 MK8S_INVENTORY=/config/inventory.yml MK8S_BACKUP_DIR=/data/backups
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/src ./src
COPY --from=build /app/jobs ./jobs
COPY tsconfig.json ./
RUN mkdir -p /data/backups /config && chown -R node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["npm", "start"]
