# The `oplog` image docker-compose.yml builds: the CLI as the entrypoint
# (`node dist/src/cli/main.js`, package.json's bin), so a service's command is
# `serve --role auto …`. Not built on the development machine, which has no Docker
# engine; test/docs/docker-compose.test.ts checks this file against package.json.

# Build: the full Debian image has python3, make and g++ for zstd-napi, which compiles
# when no prebuilt binary fits the platform.
FROM node:22-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit
COPY tsconfig.json ./
COPY schemas ./schemas
COPY src ./src
# tsconfig.json also includes test/ and bench/, which are not copied: only src/ (and the
# schemas it imports) is compiled. Then the devDependencies go.
RUN npm run build && npm prune --omit=dev --no-fund --no-audit

FROM node:22-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The snapshot volume's mount point, owned by the user the node runs as, so a new named
# volume starts writable.
RUN mkdir -p /var/lib/oplog && chown node:node /var/lib/oplog
USER node
EXPOSE 8080
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["--help"]
