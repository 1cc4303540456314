#!/usr/bin/env bash
# `pnpm test`: every package's tests on two lanes (the 2-core CI machine runs two suites at once).
#
# The e2e suite is the long pole (~470 s of a ~600 s test phase): one lane runs it from the start,
# the other runs every other package's tests one at a time (~420 s together). A single
# `turbo run test --concurrency=2` started e2e last — its task is ready only once every package it
# depends on is built, so the small packages took both slots first and e2e began ~135 s into the
# phase, ending ~130 s after the other lane (CI runs 40/41).
#
# The build runs first (turbo's cache makes it a no-op after `pnpm build`), so the lanes run only
# their test tasks (`--only`) and never restore a package's dist while the other lane reads it.
# Exits non-zero when either lane failed, after both finished.
set -uo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1

turbo run build || exit $?

turbo run test --only --filter=@mzts/e2e &
e2e=$!
turbo run test --only --filter='!@mzts/e2e' --concurrency=1
rest=$?
wait "$e2e"
e2e_rc=$?

if [ "$rest" -ne 0 ] || [ "$e2e_rc" -ne 0 ]; then
  echo "pnpm test: failed (packages exit $rest, e2e exit $e2e_rc)" >&2
  exit 1
fi
