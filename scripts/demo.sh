#!/usr/bin/env bash
# The main job on embedded defaults: installs (pinned pnpm, frozen lockfile), builds, and boots
# environmentd with the demo — a cluster of two replicas, an auction load generator, indexes and
# materialized views — printing a live status until Ctrl-C. Running it again resumes from the
# catalog in the data directory (default .mzdata; pass --data-dir to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
export npm_config_nodedir
PNPM_VERSION=12.4.2
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  npm install -g -E "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || npm install -g -E "pnpm@$PNPM_VERSION"
fi
echo "==> pnpm install --frozen-lockfile" >&2
pnpm install --frozen-lockfile >&2
echo "==> build" >&2
pnpm build >&2
exec node packages/environmentd/dist/main.js --demo "$@"
