"""ingest: report files -> cleaned documents -> section tree -> chunks -> search index on disk."""
