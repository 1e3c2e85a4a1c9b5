/** The sample native app and sample API commands (`latchkey login`, `whoami`, `token`, `logout`, `sample-api`). */
export const sampleCommands: Record<string, (argv: string[]) => Promise<void>> = {};
