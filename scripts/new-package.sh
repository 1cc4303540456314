#!/usr/bin/env bash
# Scaffolds packages/<name> with the shared conventions (shared/style.md §1–3, §11):
# ESM-only exports, two tsconfigs over tsconfig.base.json, a vitest project named after the package.
# Usage: scripts/new-package.sh <name> "<one-line description>"
set -euo pipefail
name=$1; desc=${2:-}
dir=packages/$name
[ -e "$dir" ] && { echo "$dir exists" >&2; exit 1; }
mkdir -p "$dir/src"
cat > "$dir/package.json" <<JSON
{
  "name": "@mzts/$name",
  "version": "0.0.0",
  "private": true,
  "description": "$desc",
  "type": "module",
  "sideEffects": false,
  "files": ["dist"],
  "engines": { "node": ">=20" },
  "exports": {
    ".": { "types": "./dist/index.d.ts", "default": "./dist/index.js" }
  },
  "scripts": {
    "build": "tsc -p tsconfig.build.json",
    "typecheck": "tsc -p tsconfig.json --noEmit",
    "test": "vitest run"
  }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "noEmit": true, "rootDir": "." },
  "include": ["src", "bench", "test", "vitest.config.ts"]
}
JSON
cat > "$dir/tsconfig.build.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist" },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts", "src/testdata"]
}
JSON
cat > "$dir/vitest.config.ts" <<TS
import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@mzts/$name",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
  },
});
TS
echo "created $dir"
