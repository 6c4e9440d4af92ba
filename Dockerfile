# cordon in a container: a build stage that compiles the TypeScript and the native modules
# (re2, better-sqlite3 and the malloc_trim addon, from source), and a slim runtime stage that
# runs as the unprivileged `node` user. See README.md "Container".

# ---- build ----
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Native modules are compiled here rather than downloaded: re2 skips its prebuilt artifact and
# better-sqlite3's prebuild-install is told to build from source.
ENV RE2_DOWNLOAD_SKIP_PATH=1 \
    RE2_DOWNLOAD_SKIP_VER=1 \
    npm_config_build_from_source=true
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY native ./native
COPY src ./src
# `npm ci` runs the install scripts (native builds) and `prepare` (tsc, native/ addon).
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    CORDON_LISTEN=0.0.0.0:8080 \
    CORDON_CONTROL_LISTEN=0.0.0.0:9090 \
    CORDON_DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/native/build/Release ./native/build/Release
RUN mkdir -p /data && chown node:node /data
# The code is root-owned and read-only to the process; only /data is writable.
USER node
VOLUME ["/data"]
EXPOSE 8080 9090
# A control listener off loopback refuses to start without CORDON_CONTROL_TOKEN (pass it with -e).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const a=(process.env.CORDON_CONTROL_LISTEN||'127.0.0.1:9090').replace(/^0\\.0\\.0\\.0:|^\\[::\\]:/,'127.0.0.1:');fetch('http://'+a+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start"]
