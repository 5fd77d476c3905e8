/**
 * SqliteBackend: the shared contract on a fresh store file, plus what only a
 * durable store promises (everything survives a reopen; refused files are
 * left alone; one process per file).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteBackend } from "../../sidecar/backend/sqlite.ts";
import { backendContract } from "./backend_contract.ts";
import { groupsContract } from "./backend_groups_contract.ts";

const dir = mkdtempSync(join(tmpdir(), "ampbus-sqlite-"));
let n = 0;
const fresh = (o: { dedupeWindowMs?: number; claimTimeoutMs?: number }) => SqliteBackend.open({ path: join(dir, `store-${n++}.db`), ...o });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

backendContract("SqliteBackend", fresh);
groupsContract("SqliteBackend", fresh);
