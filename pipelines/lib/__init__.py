"""Reusable pieces shared by the Dagster definitions and the CLI."""
