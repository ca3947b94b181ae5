# backup: a tar.gz of ~/.openclaw on stdout (logs, caches and temp files left out).
# OpenClaw keeps its state in a SQLite database in WAL mode, which a plain tar of a live
# gateway can tear. So the archive is made from a staging tree of hard links (no data is
# copied) in which the database is replaced by a consistent copy made with SQLite's own
# VACUUM INTO (Node's built-in node:sqlite, read-only), without its -wal and -shm files.
# Args: none.
cd "$HOME"
snap="$D/backup-snapshot"
rm -rf "$snap"
trap 'rm -rf "$snap"' EXIT
mkdir -p "$snap"
# A file that vanishes while the links are made is simply not in the backup.
cp -al .openclaw "$snap/.openclaw" 2>/dev/null || true
db=".openclaw/state/openclaw.sqlite"
if [ -f "$db" ]; then
  rm -f "$snap/$db" "$snap/$db-wal" "$snap/$db-shm"
  node -e '
    const { DatabaseSync } = require("node:sqlite");
    const db = new DatabaseSync(process.argv[1], { readOnly: true });
    db.exec("VACUUM INTO \x27" + process.argv[2].replace(/\x27/g, "\x27\x27") + "\x27");
    db.close();
  ' "$HOME/$db" "$snap/$db" >&2
fi
rc=0
# plugin-skills holds links OpenClaw makes into its own installed package (absolute
# paths, which a restore refuses); it makes them again at start, and its own backup leaves
# them out too.
tar czf - -C "$snap" --warning=no-file-changed \
  --exclude=.openclaw/logs --exclude=.openclaw/cache --exclude=.openclaw/tmp \
  --exclude=.openclaw/plugin-skills \
  .openclaw || rc=$?
# GNU tar exits 1 when a file changed while it was read (a session file): the database,
# the part that must be consistent, is the snapshot. 2 is an error.
[ "$rc" -le 1 ]
