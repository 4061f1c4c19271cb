#!/usr/bin/env node
// The `vmpool` bin: runs the TypeScript CLI through tsx's loader (no build step for local use).
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
