"""The parts of pipeline.fetch: HTTP with retries (client), xeno-canto's API v3 (api), the
selections (selection), the download pool (download), the fetched folder's files (outputs) and
what the command prints (report)."""
