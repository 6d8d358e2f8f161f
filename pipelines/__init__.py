"""foil-warehouse: public-records releases -> event log -> dbt marts -> gated, published DuckDB file."""
