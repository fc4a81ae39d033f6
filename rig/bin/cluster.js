#!/usr/bin/env node
// The `chat-cluster` bin (`pnpm cluster`): the rig is TypeScript run from source, so register tsx
// (resolved from this package, whatever the caller's directory) before loading the CLI.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
