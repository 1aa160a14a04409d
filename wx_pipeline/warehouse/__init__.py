"""The warehouse room: raw archive, normalization, loading and the embedded Postgres."""
