/**
 * A fresh PostgreSQL database for one scenario, made as the test suites make
 * theirs, dropped afterwards. When PostgreSQL does not answer the scenario
 * fails, saying how to start it: nothing is skipped.
 */
import { pgAdmin, urlOf } from '../../test/postgres/admin.js';

const HOW_TO_START =
  'The PostgreSQL scenarios need PostgreSQL at 127.0.0.1:5432 with trust authentication for the user postgres. ' +
  'Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (or `service postgresql start`), ' +
  'or leave those scenarios out with --only.';

const admin = pgAdmin({ prefix: 'bamboo_bench_', howToStart: HOW_TO_START });

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** An empty database; the first instance to open it creates the schema. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = admin.freshName();
  await admin.create(name);
  return { url: urlOf(name), drop: () => admin.drop(name) };
}
