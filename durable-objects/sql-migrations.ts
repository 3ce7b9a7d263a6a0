/**
 * Numbered SQL migrations (as cloudflare/actors): each runs once, in order, and
 * the id of the last one applied is stored in the object's own SQLite.
 */
export function runMigrations(sql: SqlStorage, migrations: readonly string[]): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY)");
  const row = sql.exec<{ id: number | null }>("SELECT max(id) AS id FROM schema_migrations").one();
  for (let id = (row.id ?? -1) + 1; id < migrations.length; id++) {
    sql.exec(migrations[id]!);
    sql.exec("INSERT INTO schema_migrations (id) VALUES (?)", id);
  }
}
