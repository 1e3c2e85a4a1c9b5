/**
 * Commands with sub-commands (`latchkey clients update …`): a group is a record of sub-commands,
 * each with its usage text and a named `run(argv)`. One dispatcher for all of them: `--help` of
 * the group prints the group's usage, `--help` of a sub-command only that sub-command's, and an
 * unknown or missing sub-command is a usage error (exit 2) that lists the sub-commands. A
 * sub-command may be a group of its own (`latchkey users factors list …`), dispatched the same way.
 */
import { UsageError } from './args.js';
import type { Io } from './io.js';
import { GROUPS, groupUsage, subUsage, wantsHelp } from './usage.js';

export type Run = (argv: string[], io: Io) => Promise<void>;

export interface SubCommand {
  /** What `latchkey <group> <sub> --help` prints. */
  readonly usage: string;
  readonly run: Run;
  /** A sub-command with sub-commands of its own (its run dispatches to them). */
  readonly group?: CommandGroup;
}

export interface CommandGroup {
  /** The command's name: `clients` for `latchkey clients …`. */
  readonly name: string;
  /** What `latchkey <group> --help` prints. */
  readonly usage: string;
  readonly subcommands: Readonly<Record<string, SubCommand>>;
}

type GroupName = keyof typeof GROUPS;

/**
 * The group `name` with the usage texts of src/cli/usage.ts: `runs` names a run function (or a
 * nested group, such as `users factors` for `users`) for exactly the sub-commands usage.ts lists
 * for it (in its order), so none goes without --help.
 */
export function commandGroup<N extends GroupName>(
  name: N,
  runs: Record<keyof (typeof GROUPS)[N]['subcommands'], Run | CommandGroup>,
): CommandGroup {
  const usage = GROUPS[name];
  const subs: Record<string, { synopsis: string; details: string }> = usage.subcommands;
  const table = runs as Record<string, Run | CommandGroup>;
  const subcommands: Record<string, SubCommand> = {};
  for (const [sub, u] of Object.entries(subs)) {
    const entry = table[sub]!;
    subcommands[sub] =
      typeof entry === 'function'
        ? { usage: subUsage(u), run: entry }
        : { usage: entry.usage, run: (argv, io) => runGroup(entry, argv, io), group: entry };
  }
  return { name, usage: groupUsage(usage), subcommands };
}

/** `usage: latchkey clients create|list|update|rotate-secret|delete …` */
export function groupUsageLine(group: CommandGroup): string {
  return `usage: latchkey ${group.name} ${Object.keys(group.subcommands).join('|')} …`;
}

/**
 * Runs `latchkey <group> <argv…>`: the sub-command named by argv[0] with the rest, or the help.
 * Help goes to standard output; errors are thrown (UsageError: exit 2).
 */
export async function runGroup(group: CommandGroup, argv: readonly string[], io: Io): Promise<void> {
  const out = (text: string) => io.out(text);
  const [sub, ...rest] = argv;
  const entry =
    sub !== undefined && Object.hasOwn(group.subcommands, sub) ? group.subcommands[sub] : undefined;
  if (entry === undefined) {
    if (wantsHelp(argv)) {
      out(`${group.usage}\n`);
      return;
    }
    if (sub === undefined || sub.startsWith('-')) throw new UsageError(groupUsageLine(group));
    throw new UsageError(
      `unknown ${group.name} sub-command "${sub.slice(0, 40)}": the sub-commands are ${Object.keys(group.subcommands).join(', ')} (${groupUsageLine(group)})`,
    );
  }
  // A nested group answers --help itself (its own, or one of its sub-commands').
  if (entry.group) return runGroup(entry.group, rest, io);
  if (wantsHelp(rest)) {
    out(`${entry.usage}\n`);
    return;
  }
  await entry.run(rest, io);
}
