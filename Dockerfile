# syntax=docker/dockerfile:1
# Build stage: install all dependencies and check the types.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY jobs ./jobs
# Type-checks src/ and jobs/ and compiles them to dist/ (plain JavaScript, same module layout).
RUN npm run build

# Runtime stage: production dependencies and the compiled dist/, non-root. The process is node itself
# (no npm or tsx parent, no TypeScript loader thread: about 40 MB less per process, and SIGTERM reaches
# the app directly).
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000 MK8S_INVENTORY=/config/inventory.yml MK8S_BACKUP_DIR=/data/backups
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /data/backups /config && chown -R node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
