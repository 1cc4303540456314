/**
 * Replica-targeted commands: the rule lives in `@mzts/controller-unified/state`
 * (`targeted-commands.ts`), shared with the unified cluster state.
 */
export { commandTarget, type TargetOf } from "@mzts/controller-unified/state";
