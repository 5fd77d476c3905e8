/**
 * The command line itself: did-you-mean for commands, subcommands and flags,
 * help rendered with every flag (the command's and the shared ones) in one
 * column, tables that align wide characters, and the bash/zsh completion
 * scripts (run in a real bash).
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closest, editDistance, parseArgs, UsageError } from "../../sidecar/cli/args.ts";
import { COMMANDS } from "../../sidecar/cli/commands.ts";
import { COMPLETION_TABLES } from "../../sidecar/cli/_completion_tables.ts";
import { displayWidth, renderTable } from "../../sidecar/cli/table.ts";
import { buildAmpd } from "../_helpers/ampd.ts";
import { run } from "./_run.ts";

describe("did you mean", () => {
  test("edit distance and the closest known word", () => {
    expect(editDistance("stast", "stats")).toBe(1); // a swap of neighbours
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(closest("stast", ["pub", "stats", "stream", "tail"])).toBe("stats");
    expect(closest("grups", ["groups", "pending"])).toBe("groups");
    expect(closest("xyz", ["groups", "pending"])).toBeUndefined();
    expect(closest("pend", ["pending", "pub"])).toBe("pending"); // a unique prefix
  });

  test("parseArgs: unknown, valueless and value-less flags are usage errors naming the flag", () => {
    const specs = { from: {}, json: { boolean: true }, help: { boolean: true, short: "h" } };
    expect(parseArgs(["--from=0", "x", "-h", "--", "--json"], specs)).toEqual({ flags: new Map<string, string | true>([["from", "0"], ["help", true]]), positional: ["x", "--json"] });
    const err = (argv: string[]) => {
      try {
        parseArgs(argv, specs);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(err(["--form", "0"])).toBe("unknown flag --form (did you mean --from?)");
    expect(err(["--json=yes"])).toBe('--json takes no value (was "yes")');
    expect(err(["--from"])).toBe("--from needs a value");
    expect(err(["--from", "--json"])).toBe("--from needs a value");
    expect(err(["-x"])).toBe("unknown flag -x; short flags here: -h (--help)");
  });

  test("the binary names the closest command, subcommand and flag (exit 2)", async () => {
    const cases: [string[], string][] = [
      [["stast"], `unknown command "stast" (did you mean 'ampd stats'?)`],
      [["tail", "--form", "0", "x"], "unknown flag --form (did you mean --from?)"],
      [["--sokcet", "x"], "unknown flag --sokcet (did you mean --socket?)"],
      [["stream", "lss"], `unknown subcommand "lss" (did you mean 'stream ls'?)`],
      [["groups", "x", "--jsno"], "unknown flag --jsno (did you mean --json?)"],
      [["stats", "--intreval", "1s"], "unknown flag --intreval (did you mean --interval?)"],
    ];
    for (const [args, text] of cases) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(text);
    }
  }, 60_000);
});

describe("help and tables", () => {
  test("every command's --help has its flags and the shared ones in one column, examples and exit codes", async () => {
    const helps: [string, string][] = [];
    for (const c of COMMANDS) helps.push([c.name, (await run([c.name, "--help"])).stdout]);
    for (const sub of ["ls", "info", "rm", "purge", "trim", "retention"]) helps.push([`stream ${sub}`, (await run(["stream", sub, "--help"])).stdout]);
    for (const [name, text] of helps) {
      expect(text).toContain(`ampd ${name}`);
      expect(text).toContain("Examples:");
      expect(text).toContain("Exit codes: 0 ok");
      const flags = text.slice(text.indexOf("\nFlags:\n") + 8).split("\n\n")[0]!.split("\n");
      expect(flags.some((l) => l.startsWith("  -h, --help"))).toBe(true);
      // Where a flag and its description share a line, the description starts in the same column for all of them.
      const columns = new Set(flags.filter((l) => /^  -/.test(l) && /\S {2,}\S/.test(l.trim())).map((l) => l.search(/(?<=\S)  +\S/) + l.slice(l.search(/(?<=\S)  +\S/)).search(/\S/)));
      expect(columns.size).toBe(1);
      // Continuation lines start in that column too.
      const col = [...columns][0]!;
      for (const l of flags.filter((x) => /^ {4,}\S/.test(x))) expect(l.search(/\S/)).toBe(col);
    }
  }, 120_000);

  test("tables align wide and combining characters by their terminal width", () => {
    expect(displayWidth("收件箱")).toBe(6);
    expect(displayWidth("e\u0301")).toBe(1);
    expect(displayWidth("🚀")).toBe(2);
    const lines = renderTable([["STREAM", "LENGTH", "GROUP"], ["收件箱.代理", "12", "w"], ["inbox.e\u0301", "3", "🚀-team"], ["x", "1000", "-"]]);
    expect(lines.map((l) => displayWidth(l.slice(0, l.indexOf("  ", l.search(/\S\s/))).trimEnd()))).toEqual([6, 11, 7, 1]);
    const ends = lines.map((l) => {
      const cut = l.search(/\d+(?=  )|LENGTH/);
      return displayWidth(l.slice(0, cut)) + (/LENGTH/.test(l) ? 6 : l.slice(cut).match(/^\d+/)![0].length);
    });
    expect(new Set(ends).size).toBe(1); // numbers right-aligned under LENGTH
  });
});

describe("completion", () => {
  test("every command has a completion entry", () => {
    expect(COMPLETION_TABLES.map((e) => e.name).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  const hasBash = spawnSync("bash", ["--version"]).status === 0;
  (hasBash ? test : test.skip)("the bash script completes commands, subcommands, flags and file values", async () => {
    const r = await run(["completion", "bash"]);
    expect(r.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "ampd-completion-"));
    try {
      writeFileSync(join(dir, "ampd.bash"), r.stdout);
      writeFileSync(join(dir, "keyfile.key"), "");
      const complete = (words: string[]) => {
        const script = `source ${join(dir, "ampd.bash")}; cd ${dir}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _ampd; printf '%s\\n' "\${COMPREPLY[@]}"`;
        const out = spawnSync("bash", ["-c", script], { encoding: "utf8" });
        expect(out.stderr).toBe("");
        return out.stdout.split("\n").filter((x) => x !== "");
      };
      expect(complete(["ampd", "st"])).toEqual(["stats", "stream"]);
      expect(complete(["ampd", "stream", ""])).toEqual(["ls", "info", "rm", "purge", "trim", "retention"]);
      expect(complete(["ampd", "stream", "purge", "tasks", "--f"])).toEqual(["--force"]);
      expect(complete(["ampd", "dlq", "re"])).toEqual(["replay"]);
      expect(complete(["ampd", "tail", "--fr"])).toEqual(["--from"]);
      expect(complete(["ampd", "--ret"])).toEqual(["--retain", "--retention-policy"]);
      expect(complete(["ampd", "pub", "--key", "key"])).toEqual(["keyfile.key"]);
      expect(complete(["ampd", "tail", "--from", ""])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  const hasZsh = spawnSync("zsh", ["--version"]).status === 0;
  if (!hasZsh && process.env.CI) {
    throw new Error("zsh is not on PATH, but CI is set: the zsh completion check must run (apt-get install zsh; npm test does, as root on Debian)");
  }
  (hasZsh ? test : test.skip)("the zsh script parses (zsh -n)", async () => {
    const r = await run(["completion", "zsh"]);
    const out = spawnSync("zsh", ["-n"], { input: r.stdout, encoding: "utf8" });
    expect(out.status).toBe(0);
  });

  test("the zsh script names every command and flag; a bad shell is exit 2", async () => {
    await buildAmpd();
    const r = await run(["completion", "zsh"]);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("#compdef ampd\n")).toBe(true);
    for (const c of COMMANDS) expect(r.stdout).toContain(`'${c.name}:`);
    expect(r.stdout).toContain("'--consumer[The consumer that takes the entries over. Required]:name: '");
    expect(r.stdout).toContain("'--policy[interest (the default - never remove an entry a group still needs) or limits (remove by the limits alone)]:policy: '");
    expect(r.stdout).toContain(`'--key[The agent'\\''s key file (from '\\''ampd keygen'\\'') - proves who this command is to an ampd with --keyring, and signs what it publishes.]:file:_files'`);
    const bad = await run(["completion", "fish"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('SHELL must be bash or zsh (was "fish")');
  });
});
