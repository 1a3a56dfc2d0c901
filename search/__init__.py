"""Search: Danish text analysis and the search backends (embedded SQLite FTS5, Meilisearch)."""
